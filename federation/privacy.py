"""Record-level privacy bookkeeping: the (ε, δ) ledger per department and the egress log of each upload."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import dp_accounting
import numpy as np
from dp_accounting import rdp

LEDGER_FILE = "privacy_ledger.json"
EGRESS_FILE = "egress.jsonl"


class PrivacyBudgetExceeded(RuntimeError):
    """Training would push a department's ε per citizen record past its budget."""


@dataclass(frozen=True)
class DpRelease:
    """One DP-SGD run over a department's records: Poisson rate, noise multiplier, steps, clip norm."""

    run_id: str
    server_round: int
    sampling_rate: float
    noise_multiplier: float
    steps: int
    clip_norm: float
    at: str


def epsilon_of(releases: Iterable[DpRelease], *, delta: float) -> float:
    """ε at `delta` of all releases composed (RDP accountant, Poisson-sampled Gaussian mechanism)."""
    accountant = rdp.RdpAccountant()
    any_event = False
    for r in releases:
        if r.steps <= 0:
            continue
        event = dp_accounting.PoissonSampledDpEvent(r.sampling_rate, dp_accounting.GaussianDpEvent(r.noise_multiplier))
        accountant.compose(event, r.steps)
        any_event = True
    return float(accountant.get_epsilon(delta)) if any_event else 0.0


class PrivacyLedger:
    """A department's JSON ledger of DP releases over its records, kept across rounds and runs."""

    def __init__(self, path: str | Path, *, department_id: str, delta: float = 1e-5) -> None:
        self.path = Path(path)
        self.department_id = department_id
        self.delta = delta
        self.releases: list[DpRelease] = []
        self.non_private_rounds = 0
        if self.path.is_file():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.releases = [DpRelease(**r) for r in data.get("releases", [])]
            self.non_private_rounds = int(data.get("non_private_rounds", 0))
            self.delta = float(data.get("delta", delta))

    @property
    def epsilon(self) -> float:
        """ε per citizen record so far (infinite if any round trained without DP)."""
        if self.non_private_rounds:
            return float("inf")
        return epsilon_of(self.releases, delta=self.delta)

    def epsilon_if(self, release: DpRelease) -> float:
        """ε the ledger would show after adding `release`."""
        if self.non_private_rounds:
            return float("inf")
        return epsilon_of([*self.releases, release], delta=self.delta)

    def record(self, release: DpRelease | None) -> float:
        """Append a release (None = a round trained without DP) and save atomically; returns the new ε."""
        if release is None:
            self.non_private_rounds += 1
        else:
            self.releases.append(release)
        self.save()
        return self.epsilon

    def summary(self) -> dict[str, object]:
        """The ledger as a JSON-ready dict (what `hotline federation ledger` shows)."""
        eps = self.epsilon
        return {
            "department_id": self.department_id,
            "delta": self.delta,
            "epsilon": None if np.isinf(eps) else eps,
            "non_private_rounds": self.non_private_rounds,
            "dp_rounds": len(self.releases),
            "runs": sorted({r.run_id for r in self.releases}),
            "releases": [asdict(r) for r in self.releases],
        }

    def save(self) -> None:
        """Write the ledger (temp file + rename, so a crash never leaves half a ledger)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.summary()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
        os.replace(tmp, self.path)


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def log_egress(
    path: str | Path,
    *,
    department_id: str,
    run_id: str,
    server_round: int,
    arrays: dict[str, np.ndarray],
    metrics: dict[str, object],
    dp: dict[str, object] | None,
) -> dict[str, object]:
    """Append what leaves the department this round (shapes, bytes, metrics, DP facts) to its JSONL log."""
    entry = {
        "at": now_iso(),
        "department_id": department_id,
        "run_id": run_id,
        "server_round": server_round,
        "arrays": [{"name": k, "shape": list(v.shape), "dtype": str(v.dtype), "bytes": int(v.nbytes)} for k, v in arrays.items()],
        "total_bytes": int(sum(v.nbytes for v in arrays.values())),
        "metrics": metrics,
        "dp": dp,
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry
