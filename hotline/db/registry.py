"""Find every area's models so ``Base.metadata`` is complete (for Alembic autogenerate and schema checks)."""

from __future__ import annotations

import importlib
import pkgutil

import hotline


def import_all_models() -> list[str]:
    """Import ``hotline.models`` and every ``hotline.<area>.models`` module; returns their names."""
    names = sorted(
        info.name
        for info in pkgutil.walk_packages(hotline.__path__, prefix="hotline.")
        if info.name.rsplit(".", 1)[-1] == "models" and not info.name.startswith("hotline.migrations")
    )
    for name in names:
        importlib.import_module(name)
    return names
