"""The department side: a Flower ClientApp that trains and evaluates the intent model on local data.

Node config: `department-id`, `data-path` (a CSV), optional `state-dir` (ledger and egress log).
Run config: `[tool.flwr.app.config]` (see `federation.task.DEFAULT_RUN_CONFIG`).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from flwr.clientapp import ClientApp
from flwr.clientapp.typing import Mod
from flwr.clientapp.mod import fixedclipping_mod
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM

from federation.dual import empty_duals
from federation.model import IntentModel
from federation.task import (
    DUAL_STRATEGY,
    IDF_CONFIG_KEY,
    SPREAD_CONFIG_KEY,
    Department,
    LocalData,
    TaskConfig,
    department_statistics,
    evaluate_department,
    load_local_data,
    record_egress,
    resolve_department,
    train_department,
    train_department_dual,
    with_idf,
)

_LOCAL_CACHE: dict[tuple[object, ...], LocalData] = {}
_LOCAL_CACHE_SIZE = 64


def optional_fixedclipping_mod(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
    """Flower's client-side fixed clipping, applied only when the server's DP wrapper asked for it."""
    configs = list(msg.content.config_records.values()) if msg.metadata.message_type == MessageType.TRAIN else []
    if configs and KEY_CLIPPING_NORM in configs[0]:
        return fixedclipping_mod(msg, context, call_next)
    return call_next(msg, context)


def idf_from_config(config: Mapping[str, object] | None, n_buckets: int) -> np.ndarray | None:
    """The IDF weights the server put into a train/evaluate config, Message-API or legacy (None when the run has none)."""
    raw = (config or {}).get(IDF_CONFIG_KEY)
    if raw is None:
        return None
    idf = np.frombuffer(bytes(raw), dtype=np.float32)  # type: ignore[arg-type]
    if idf.shape != (n_buckets,):
        raise ValueError(f"the server's IDF weights have {idf.size} entries, the model has {n_buckets} buckets")
    return idf


def _local_data(context: Context, config: TaskConfig, model: IntentModel) -> tuple[Department, LocalData]:
    """The department and its unweighted featurised split (cached per data file and config)."""
    dept = resolve_department(context.node_config, config)
    data_path = Path(dept.data_path)
    key = (str(data_path), data_path.stat().st_mtime_ns if data_path.exists() else 0, model.labels, model.request_types, model.hasher, tuple(sorted(config.values.items())))
    if key not in _LOCAL_CACHE:
        # One process may serve several departments (simulation actors): keep a few, oldest out first.
        while len(_LOCAL_CACHE) >= _LOCAL_CACHE_SIZE:
            _LOCAL_CACHE.pop(next(iter(_LOCAL_CACHE)))
        _LOCAL_CACHE[key] = load_local_data(dept, config, model)
    return dept, _LOCAL_CACHE[key]


def _setup(msg: Message, context: Context, overrides: Mapping[str, object]) -> tuple[TaskConfig, Department, IntentModel, LocalData]:
    config = TaskConfig.from_run_config({**dict(context.run_config), **overrides})
    model = config.new_model()
    model.set_arrays(msg.content["arrays"].to_numpy_ndarrays())
    dept, local = _local_data(context, config, model)
    model.idf = idf_from_config(msg.content.config_records.get("config"), model.hasher.n_buckets)
    return config, dept, model, with_idf(local, model.idf)


def _committed_duals(context: Context, accepted: set[int], model: IntentModel, rows: int) -> tuple[list[np.ndarray], bool]:
    """The department's dual variables for this run and whether it had any: the last proposal the server
    added, else the last committed ones, else zeros (a department joining the run, or whose rows changed)."""
    state = context.state
    meta = state.config_records.get("dual")
    source = "dual-pending" if meta is not None and int(meta["proposal"]) in accepted else "dual-committed"  # type: ignore[arg-type]
    duals = state.array_records[source].to_numpy_ndarrays() if source in state.array_records else []
    expected = empty_duals(model, rows)
    resumed = [d.shape for d in duals] == [e.shape for e in expected]
    if not resumed:
        duals = expected
    state["dual-committed"] = ArrayRecord(duals)
    return duals, resumed


DUAL_FILE_MAX_AGE_S = 86400.0
"""A dual-variable file of another run that was not written for this long belongs to a run that ended."""


def _dual_file(dept: Department, run_id: int) -> Path:
    return dept.state_dir / f"dual-run-{run_id}.npz"


def _prune_dual_files(dept: Department, run_id: int) -> None:
    """Delete the department's dual-variable files of ended runs (one number per message and class each)."""
    current = _dual_file(dept, run_id)
    cutoff = time.time() - DUAL_FILE_MAX_AGE_S
    for path in dept.state_dir.glob("dual-run-*.npz"):
        try:
            if path != current and path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            continue


def _save_duals(context: Context, path: Path) -> None:
    """Keep the department's dual variables on its own disk too (atomically): a restarted SuperNode resumes from them."""
    state = context.state
    arrays = {f"{key}-{i}": a for key in ("dual-committed", "dual-pending") for i, a in enumerate(state.array_records[key].to_numpy_ndarrays())}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, proposal=np.int64(state.config_records["dual"]["proposal"]), **arrays)  # type: ignore[arg-type]
    partial.replace(path)


def _restore_duals(context: Context, path: Path) -> None:
    """Put the variables saved by `_save_duals` back into a context that has none (a restarted SuperNode)."""
    if "dual-committed" in context.state.array_records or not path.is_file():
        return
    with np.load(path) as saved:
        for key in ("dual-committed", "dual-pending"):
            names = sorted((n for n in saved.files if n.startswith(f"{key}-")), key=lambda n: int(n.rsplit("-", 1)[1]))
            context.state[key] = ArrayRecord([saved[n] for n in names])
        context.state["dual"] = ConfigRecord({"proposal": int(saved["proposal"])})


def _train_dual(msg: Message, context: Context, *, config: TaskConfig, dept: Department, model: IntentModel, local: LocalData, seed: int) -> dict[str, object]:
    """One CoCoA+ round: ascend from the committed dual variables, keep the new ones as this round's proposal."""
    train_config = msg.content["config"]
    accepted = set(np.frombuffer(bytes(train_config.get("dual-accepted", b"")), dtype=np.int64).tolist())  # type: ignore[arg-type]
    saved = _dual_file(dept, context.run_id)
    _restore_duals(context, saved)
    _prune_dual_files(dept, context.run_id)
    duals, resumed = _committed_duals(context, accepted, model, rows=int(local.x_train.shape[0]))  # type: ignore[attr-defined]
    duals, metrics = train_department_dual(
        model=model,
        local=local,
        config=config,
        dept=dept,
        duals=duals,
        sigma=float(train_config["dual-sigma"]),  # type: ignore[arg-type]
        scale=float(train_config.get("dual-scale", 1.0)),  # type: ignore[arg-type]
        seed=seed,
        spread=(train_config.get(SPREAD_CONFIG_KEY), int(train_config.get("dual-sigma-unknown", 0))),  # type: ignore[arg-type]
    )
    proposal = int(np.random.default_rng(seed).integers(1, 2**62))
    context.state["dual-pending"] = ArrayRecord(duals)
    context.state["dual"] = ConfigRecord({"proposal": proposal})
    _save_duals(context, saved)
    return {**metrics, "dual-proposal": proposal, "dual-resumed": int(resumed)}


def build_client_app(overrides: Mapping[str, object] | None = None, *, extra_mods: Sequence[Mod] = ()) -> ClientApp:
    """A ClientApp; `overrides` are run-config values (the simulation engine has no run config of its own)."""
    extra = dict(overrides or {})
    app = ClientApp(mods=[*extra_mods, optional_fixedclipping_mod])

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        config, dept, model, local = _setup(msg, context, extra)
        server_round = int(msg.content["config"].get("server-round", 0))
        seed = config.int("seed") * 1_000_003 + server_round * 7919 + zlib.crc32(dept.department_id.encode())
        if config.str("strategy") == DUAL_STRATEGY:
            metrics = _train_dual(msg, context, config=config, dept=dept, model=model, local=local, seed=seed)
        else:
            _, metrics = train_department(
                model=model,
                local=local,
                config=config,
                dept=dept,
                run_id=str(context.run_id),
                server_round=server_round,
                seed=seed,
                prox_mu=float(msg.content["config"].get("proximal-mu", 0.0)),
            )
        record_egress(dept=dept, run_id=str(context.run_id), server_round=server_round, model=model, metrics=metrics, config=config)
        content = RecordDict({"arrays": ArrayRecord(model.get_arrays()), "metrics": MetricRecord(metrics)})
        return Message(content=content, reply_to=msg)

    @app.query()
    def statistics(msg: Message, context: Context) -> Message:
        config = TaskConfig.from_run_config({**dict(context.run_config), **extra})
        dept, local = _local_data(context, config, config.new_model())
        counts = department_statistics(local=local, dept=dept, run_id=str(context.run_id), config=config)
        arrays = ArrayRecord({name: Array(values) for name, values in counts.arrays().items()})
        content = RecordDict({"statistics": arrays, "metrics": MetricRecord({"num-documents": int(counts.num_docs)})})
        return Message(content=content, reply_to=msg)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        _, _, model, local = _setup(msg, context, extra)
        calibration = msg.content.config_records.get("config") or {}
        model.temperature = float(calibration.get("temperature", 1.0))  # type: ignore[arg-type]
        model.label_counts = tuple(int(c) for c in calibration.get("label-counts", []))  # type: ignore[union-attr]
        metrics = evaluate_department(model=model, local=local)
        return Message(content=RecordDict({"metrics": MetricRecord(metrics)}), reply_to=msg)

    return app


app = build_client_app()
