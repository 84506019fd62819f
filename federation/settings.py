"""Settings of the federation package (environment prefix `HOTLINE_FEDERATION_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class FederationSettings(BaseSettings):
    """Defaults for development simulations and the CLI; deployments pass run config instead."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_FEDERATION_", extra="ignore")

    state_dir: Path = Path("var/federation/state")
    simulation_num_cpus: int = 2
