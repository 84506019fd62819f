"""Model registry: every run's global model versioned, promotion guarded per department, hot reload.

Layout under the registry root::

    versions/v0001/   model files, metrics.json, rounds.jsonl, manifest.json
    promoted.json     atomic pointer to the promoted version (write temp + os.replace)

A running hotline watches `promoted.json` with `PromotedModelWatcher` and reloads without a restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Generic, TypeVar

from federation.audit import GRID_ROUNDS_FILE

__all__ = [
    "MANIFEST_FILE",
    "POINTER_FILE",
    "DepartmentRegression",
    "ModelRegistry",
    "ModelVersion",
    "PromotedModelWatcher",
    "PromotionDecision",
    "PromotionRefused",
    "RegistryError",
    "RoundRecord",
    "code_version",
    "read_rounds",
    "sha256_of_dir",
]

MANIFEST_FILE = "manifest.json"
POINTER_FILE = "promoted.json"
METRICS_FILE = "metrics.json"
ROUNDS_FILE = "rounds.jsonl"
_VERSION_RE = re.compile(r"^v(\d{4,})$")
_MODEL_SUFFIXES = (".npz", ".json", ".jsonl")

T = TypeVar("T")


class RegistryError(ValueError):
    """A registry operation cannot be done; `code` is a stable snake_case string."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def code_version(repo_dir: Path | None = None) -> str:
    """`git describe --always --dirty` of the checkout, or the installed package version."""
    where = repo_dir or Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607 - git from PATH on purpose
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return f"git:{done.stdout.strip()}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        return f"pkg:{metadata.version('hotline12345')}"
    except metadata.PackageNotFoundError:
        return "unknown"


def sha256_of_dir(directory: Path, names: list[str] | None = None) -> str:
    """SHA-256 over the model files of a directory (sorted names and contents), as hex."""
    digest = hashlib.sha256()
    files = sorted(names or [p.name for p in directory.iterdir() if p.is_file() and p.name.startswith("model")])
    if not files:
        raise RegistryError("model_files_missing", f"目录中没有模型文件 no model files in {directory}")
    for name in files:
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256((directory / name).read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class RoundRecord:
    """One round as the ServerApp reported it: participants with sample counts, and metrics."""

    server_round: int
    participants: dict[str, int]
    metrics: dict[str, object]
    node_metrics: dict[str, dict[str, float]]
    epsilon: dict[str, float] = field(default_factory=dict)


def _resolve(names: Mapping[str, str], key: str) -> str:
    return names.get(key, key)


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, object]]]:
    rows = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise RegistryError("rounds_file_invalid", f"{path}:{line_no}: 轮次记录无效 invalid round record ({exc})") from exc
        if not isinstance(value, dict):
            raise RegistryError("rounds_file_invalid", f"{path}:{line_no}: 轮次记录无效 invalid round record (not an object)")
        rows.append((line_no, value))
    return rows


def read_rounds(model_dir: Path, *, node_names: Mapping[str, str] | None = None) -> list[RoundRecord]:
    """Read a run's rounds: `rounds.jsonl` (the ServerApp's events) merged with `grid_rounds.jsonl`.

    `grid_rounds.jsonl` is written by the audited ServerApp wrapper from the replies the SuperLink
    delivered (participants with their sample counts, per-node evaluation metrics); it is preferred
    for those fields. Node ids are mapped to department ids with `node_names` (written at registration).
    """
    names = dict(node_names or {})
    events: dict[int, dict[str, object]] = {}
    grid: dict[int, dict[str, object]] = {}
    for source, target in ((ROUNDS_FILE, events), (GRID_ROUNDS_FILE, grid)):
        path = model_dir / source
        if not path.is_file():
            continue
        for line_no, row in _read_jsonl(path):
            try:
                target[int(row["server_round"])] = row  # type: ignore[call-overload]
            except (KeyError, TypeError, ValueError) as exc:
                raise RegistryError("rounds_file_invalid", f"{path}:{line_no}: 轮次记录无效 invalid round record ({exc})") from exc
    records: list[RoundRecord] = []
    for server_round in sorted(set(events) | set(grid)):
        metrics = dict(events.get(server_round, {}).get("metrics") or {})  # type: ignore[call-overload]
        delivered = grid.get(server_round, {})

        def field_of(key: str) -> dict[str, object]:
            return dict(delivered.get(key) or metrics.get(key) or {})  # type: ignore[call-overload]

        try:
            participants = {_resolve(names, str(k)): int(v) for k, v in field_of("participants").items()}  # type: ignore[call-overload]
            node_metrics = {
                _resolve(names, str(k)): {m: float(x) for m, x in dict(v).items()}  # type: ignore[call-overload]
                for k, v in field_of("node_metrics").items()
            }
            epsilon = {_resolve(names, str(k)): float(v) for k, v in field_of("epsilon").items()}  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise RegistryError("rounds_file_invalid", f"{model_dir}: round {server_round}: 轮次记录无效 invalid round record ({exc})") from exc
        for key in ("participants", "node_metrics", "epsilon"):
            metrics.pop(key, None)
        if delivered.get("failed"):
            metrics["failed_nodes"] = [_resolve(names, str(n)) for n in delivered["failed"]]  # type: ignore[union-attr]
        if delivered.get("model_arrays_sha256"):
            metrics["model_arrays_sha256"] = delivered["model_arrays_sha256"]
        records.append(
            RoundRecord(server_round=server_round, participants=participants, metrics=metrics, node_metrics=node_metrics, epsilon=epsilon)
        )
    return records


@dataclass
class ModelVersion:
    """A registered model version and its manifest."""

    version: str
    path: Path
    created_at: str
    run_id: str
    strategy: str
    code_version: str
    model_sha256: str
    data_sizes: dict[str, int]
    department_metrics: dict[str, dict[str, float]]
    epsilon: dict[str, float | None]
    num_rounds: int
    files: list[str] = field(default_factory=list)

    def manifest(self) -> dict[str, object]:
        """The manifest as written to `manifest.json`."""
        data = asdict(self)
        data.pop("path")
        return data

    @classmethod
    def from_dir(cls, path: Path) -> ModelVersion:
        """Load a version from its directory's manifest."""
        try:
            data = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
            return cls(path=path, **data)
        except (OSError, ValueError, TypeError) as exc:
            raise RegistryError("manifest_invalid", f"版本清单无效 invalid manifest in {path}: {exc}") from exc


@dataclass(frozen=True)
class DepartmentRegression:
    """A department whose local evaluation would get worse by more than the margin."""

    department_id: str
    metric: str
    promoted_value: float
    candidate_value: float | None

    def describe(self) -> str:
        """One line for operators."""
        got = "missing" if self.candidate_value is None else f"{self.candidate_value:.4f}"
        return f"{self.department_id}: {self.metric} {self.promoted_value:.4f} -> {got}"


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a candidate may be promoted, and which departments block it."""

    candidate: str
    baseline: str | None
    metric: str
    margin: float
    regressions: list[DepartmentRegression]

    @property
    def allowed(self) -> bool:
        """True when no department regresses by more than the margin."""
        return not self.regressions


class PromotionRefused(RegistryError):
    """Promotion was refused because departments regress; `decision` lists them."""

    def __init__(self, decision: PromotionDecision) -> None:
        lines = "; ".join(r.describe() for r in decision.regressions)
        super().__init__(
            "promotion_regression",
            f"拒绝发布 {decision.candidate}: 部门评估下降超过 {decision.margin} "
            f"refused, departments regress beyond the margin: {lines}",
        )
        self.decision = decision


def _atomic_write_json(path: Path, data: Mapping[str, object]) -> None:
    """Write JSON via a temp file in the same directory and os.replace (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class ModelRegistry:
    """Versioned global models with guarded promotion, on a directory tree."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions_dir = root / "versions"
        self.pointer_path = root / POINTER_FILE
        self._lock = threading.Lock()

    def versions(self) -> list[ModelVersion]:
        """All registered versions, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        found = [p for p in self.versions_dir.iterdir() if _VERSION_RE.match(p.name) and (p / MANIFEST_FILE).is_file()]
        return [ModelVersion.from_dir(p) for p in sorted(found, key=lambda p: int(p.name[1:]))]

    def get(self, version: str) -> ModelVersion:
        """One version by name (e.g. "v0003")."""
        path = self.versions_dir / version
        if not _VERSION_RE.match(version) or not (path / MANIFEST_FILE).is_file():
            raise RegistryError("version_not_found", f"找不到模型版本 model version not found: {version}")
        return ModelVersion.from_dir(path)

    def register(
        self,
        *,
        model_dir: Path,
        run_id: str = "",
        node_names: Mapping[str, str] | None = None,
        code: str | None = None,
        now: str | None = None,
    ) -> ModelVersion:
        """Copy a run's output (model files, metrics.json, rounds.jsonl) into a new version.

        Data sizes and per-department metrics come from the last round in `rounds.jsonl`
        (node ids mapped to departments by `node_names`), else from `metrics.json`
        (`per_department`). ε per department is the latest cumulative `epsilon` a department
        reported with its update (record-level DP on), else None.
        """
        metrics_path = model_dir / METRICS_FILE
        if not metrics_path.is_file():
            raise RegistryError("metrics_missing", f"缺少 metrics.json missing in {model_dir}")
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RegistryError("metrics_invalid", f"metrics.json 无法解析 invalid: {exc}") from exc
        rounds = read_rounds(model_dir, node_names=node_names)
        model_hash = sha256_of_dir(model_dir)
        last = rounds[-1] if rounds else None
        data_sizes: dict[str, int] = {}
        for record in rounds:
            data_sizes.update(record.participants)
        department_metrics = dict(last.node_metrics) if last and last.node_metrics else {
            str(k): {m: float(x) for m, x in dict(v).items() if isinstance(x, (int, float))}
            for k, v in dict(metrics.get("per_department", {})).items()
        }
        epsilon: dict[str, float | None] = {d: m.get("epsilon") for d, m in department_metrics.items()}
        for record in rounds:
            epsilon.update(record.epsilon)
        with self._lock:
            self.versions_dir.mkdir(parents=True, exist_ok=True)
            numbers = [int(p.name[1:]) for p in self.versions_dir.iterdir() if _VERSION_RE.match(p.name)]
            name = f"v{(max(numbers) + 1) if numbers else 1:04d}"
            staging = Path(tempfile.mkdtemp(dir=self.versions_dir, prefix=f".{name}."))
            try:
                files = sorted(p.name for p in model_dir.iterdir() if p.is_file() and p.suffix in _MODEL_SUFFIXES)
                for file_name in files:
                    shutil.copy2(model_dir / file_name, staging / file_name)
                version = ModelVersion(
                    version=name,
                    path=self.versions_dir / name,
                    created_at=now or _utc_now(),
                    run_id=str(run_id or metrics.get("run_id", "")),
                    strategy=str(metrics.get("strategy", "")),
                    code_version=code or code_version(),
                    model_sha256=model_hash,
                    data_sizes=data_sizes,
                    department_metrics=department_metrics,
                    epsilon=epsilon,
                    num_rounds=len(rounds) or int(metrics.get("num_rounds", 0)),
                    files=files,
                )
                (staging / MANIFEST_FILE).write_text(json.dumps(version.manifest(), ensure_ascii=False, indent=2), encoding="utf-8")
                os.rename(staging, version.path)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return version

    def promoted_version(self) -> ModelVersion | None:
        """The promoted version, or None before the first promotion."""
        if not self.pointer_path.is_file():
            return None
        try:
            pointer = json.loads(self.pointer_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RegistryError("pointer_invalid", f"发布指针无效 invalid pointer file {self.pointer_path}: {exc}") from exc
        return self.get(str(pointer["version"]))

    def promoted(self) -> Path | None:
        """Directory of the promoted model (what the hotline loads), or None."""
        version = self.promoted_version()
        return version.path if version else None

    def check_promotion(self, version: str, *, metric: str = "macro-f1", margin: float = 0.02) -> PromotionDecision:
        """Compare a candidate with the promoted model department by department.

        A department blocks promotion when its candidate value is below the promoted value
        minus `margin`, or when it has a promoted value but no candidate value. Departments
        new in the candidate do not block.
        """
        if margin < 0:
            raise RegistryError("margin_negative", f"容差不能为负 margin must be ≥ 0, got {margin}")
        candidate = self.get(version)
        baseline = self.promoted_version()
        regressions: list[DepartmentRegression] = []
        if baseline is not None:
            for department, values in sorted(baseline.department_metrics.items()):
                if metric not in values:
                    continue
                got = candidate.department_metrics.get(department, {}).get(metric)
                if got is None or got < values[metric] - margin:
                    regressions.append(DepartmentRegression(department, metric, values[metric], got))
        return PromotionDecision(
            candidate=version,
            baseline=baseline.version if baseline else None,
            metric=metric,
            margin=margin,
            regressions=regressions,
        )

    def promote(self, version: str, *, metric: str = "macro-f1", margin: float = 0.02, force: bool = False) -> PromotionDecision:
        """Point `promoted.json` at `version` if no department regresses beyond `margin` (or `force`).

        Raises `PromotionRefused` otherwise. The pointer is replaced atomically.
        """
        with self._lock:
            decision = self.check_promotion(version, metric=metric, margin=margin)
            if not decision.allowed and not force:
                raise PromotionRefused(decision)
            _atomic_write_json(
                self.pointer_path,
                {
                    "version": version,
                    "previous": decision.baseline,
                    "promoted_at": _utc_now(),
                    "forced": bool(force and not decision.allowed),
                },
            )
        return decision


class PromotedModelWatcher(Generic[T]):
    """Holds the loaded promoted model and reloads it when the pointer file changes.

    `loader(path)` turns a version directory into a model (e.g. `IntentModel.load`). Changes
    are detected by the pointer's (inode, mtime_ns, size); `current()` is thread-safe and
    keeps serving the previous model if a new one fails to load (`last_error` says why).
    """

    def __init__(self, registry_root: Path, loader: Callable[[Path], T]) -> None:
        self.registry = ModelRegistry(registry_root)
        self.loader = loader
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._model: T | None = None
        self._version: str | None = None
        self.last_error: Exception | None = None

    def _pointer_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.registry.pointer_path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    @property
    def version(self) -> str | None:
        """The version currently served."""
        return self._version

    def current(self) -> T | None:
        """The promoted model, reloaded if the pointer changed since the last call."""
        stamp = self._pointer_stamp()
        if stamp == self._stamp:
            return self._model
        with self._lock:
            stamp = self._pointer_stamp()
            if stamp == self._stamp:
                return self._model
            try:
                promoted = self.registry.promoted_version()
                model = self.loader(promoted.path) if promoted else None
            except Exception as exc:  # noqa: BLE001 - keep serving the old model; the error is kept for health checks
                # Remember the stamp so a broken version is not reloaded on every call; re-promoting retries.
                self.last_error = exc
                self._stamp = stamp
                return self._model
            self._model = model
            self._version = promoted.version if promoted else None
            self._stamp = stamp
            self.last_error = None
            return self._model
