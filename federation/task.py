"""Flower-facing glue that is plain Python: run config, department data, train/evaluate handlers, round files.

The ServerApp and ClientApp call these functions; tests call them directly. The deployment side
coordinates through files in `model-out-dir` (`rounds.jsonl`, `metrics.json`, `model.npz`/`model.json`)
and an optional `round-hook` ("package.module:function") called with a `RoundEvent` after every round
and once at the end.
"""

from __future__ import annotations

import importlib
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from federation.data import LABEL_COLUMN, REQUEST_TYPE_COLUMN, TEXT_COLUMN, DataFileError, LabelledTexts, read_labelled_csv, stratified_split
from federation.chitchat import generate_chitchat
from federation.dual import dual_ascent
from federation.model import OUT_OF_SCOPE, DpSgdConfig, FeatureHasher, IntentModel, TrainReport, auto_buckets, document_frequencies, idf_weights, label_concentration, label_document_frequencies, macro_f1, weight_features
from federation.privacy import EGRESS_FILE, LEDGER_FILE, DpRelease, PrivacyBudgetExceeded, PrivacyLedger, log_egress, now_iso
from federation.taxonomy import REQUEST_TYPES, department_of, intent_labels

ROUNDS_FILE = "rounds.jsonl"
METRICS_FILE = "metrics.json"
IDF_CONFIG_KEY = "feature-idf"
"""Train/evaluate config key carrying the run's IDF weights (float32 bytes, one per hashed bucket)."""
SPREAD_CONFIG_KEY = "feature-spread"
"""Train config key of CoCoA+ runs: how many departments hold each hashed bucket (uint8 bytes; 255 = 255 or more)."""
SYNTHETIC_OOS_THRESHOLD = 0.7
"""The automatic `oos-threshold` of runs trained on synthetic chit-chat: the synthetic rows are easier to
tell from requests than real chit-chat, so P(out_of_scope) of real requests runs higher than with real
rows (up to 0.68 on Taipei FAQ questions centrally, where 0.7 rejected none of 1,665 real test requests;
docs/bench/federation.md, "Synthetic out-of-scope rows")."""

DEFAULT_RUN_CONFIG: dict[str, object] = {
    "num-server-rounds": 20,
    "strategy": "cocoa",
    "svm-c": 10.0,
    "catalyst-kappa": 10.0,
    "catalyst-rounds": 2,
    "local-epochs": 10,
    "learning-rate": 2.0,
    "optimizer": "sgd",
    "loss": "modified-huber",
    "idf-weighting": True,
    "label-concentration": 1.0,
    "batch-size": 32,
    "min-nodes": 3,
    "round-timeout-s": 120,
    "quorum-wait-s": 300,
    "trim-beta": 0.2,
    "server-momentum": 0.0,
    "prox-mu": 0.01,
    "labels": "",
    "request-types": "",
    "n-buckets": 0,
    "text-columns": TEXT_COLUMN,
    "label-column": LABEL_COLUMN,
    "request-type-column": REQUEST_TYPE_COLUMN,
    "holdout-fraction": 0.1,
    "column-rows": True,
    "out-of-scope-rows": 0,
    "oos-threshold": 0.0,
    "temperature": 0.0,
    "dp-noise-multiplier": 0.0,
    "dp-clip-norm": 1.0,
    "dp-sampling-rate": 0.05,
    "dp-delta": 1e-5,
    "dp-max-epsilon": 0.0,
    "client-dp-noise-multiplier": 0.0,
    "client-dp-clip-norm": 1.0,
    "min-score": 0.0,
    "prior-correction": 1.0,
    "model-out-dir": "",
    "round-hook": "",
    "eval-data-path": "",
    "partitions-dir": "",
    "state-dir": "",
    "seed": 0,
}


class TaskConfigError(ValueError):
    """The run config or node config is unusable; the message names the key."""


@dataclass(frozen=True)
class TaskConfig:
    """The run config with defaults applied and types checked."""

    values: dict[str, object]

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, object] | None) -> TaskConfig:
        """Merge a (possibly partial) run config over the defaults; unknown keys are an error."""
        merged = dict(DEFAULT_RUN_CONFIG)
        for key, value in (run_config or {}).items():
            if key not in DEFAULT_RUN_CONFIG:
                raise TaskConfigError(f"unknown run-config key {key!r}")
            merged[key] = value
        return cls(merged)

    def int(self, key: str) -> int:
        """An integer setting."""
        try:
            return int(self.values[key])  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise TaskConfigError(f"run-config {key!r} must be an integer, got {self.values[key]!r}") from exc

    def float(self, key: str) -> float:
        """A float setting."""
        try:
            return float(self.values[key])  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise TaskConfigError(f"run-config {key!r} must be a number, got {self.values[key]!r}") from exc

    def str(self, key: str) -> str:
        """A string setting."""
        return str(self.values[key])

    def bool(self, key: str) -> bool:
        """A true/false setting (TOML booleans, or "true"/"false"/1/0 from the command line)."""
        value = self.values[key]
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise TaskConfigError(f"run-config {key!r} must be true or false, got {value!r}")

    def list(self, key: str) -> list[str]:
        """A list setting: comma-separated, or a JSON array of strings (names that hold commas); empty string = empty list."""
        text = self.str(key).strip()
        if not text.startswith("["):
            return [v.strip() for v in text.split(",") if v.strip()]
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TaskConfigError(f"run-config {key!r} starts like a JSON array but is not one ({exc.msg})") from exc
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise TaskConfigError(f"run-config {key!r} must be a JSON array of strings")
        return [v.strip() for v in values if v.strip()]

    def labels(self) -> tuple[str, ...]:
        """The intent labels every department trains on (default: the product taxonomy)."""
        return tuple(self.list("labels")) or intent_labels()

    def request_types(self) -> tuple[str, ...]:
        """Request-type labels for the second head ("none" turns the head off; default: the taxonomy's)."""
        values = self.list("request-types")
        if values == ["none"]:
            return ()
        return tuple(values) or REQUEST_TYPES

    def n_buckets(self) -> int:
        """Hashed feature buckets: `n-buckets`, or for 0 (the default) `auto_buckets` for this run's outputs."""
        buckets = self.int("n-buckets")
        if buckets < 0:
            raise TaskConfigError(f"run-config 'n-buckets' must be 0 (automatic) or positive, got {buckets}")
        return buckets or auto_buckets(len(self.labels()) + len(self.request_types()))

    def dp(self) -> DpSgdConfig | None:
        """Record-level DP-SGD settings, or None when the noise multiplier is 0."""
        sigma = self.float("dp-noise-multiplier")
        if sigma <= 0:
            return None
        return DpSgdConfig(clip_norm=self.float("dp-clip-norm"), noise_multiplier=sigma, sampling_rate=self.float("dp-sampling-rate"))

    def prior_correction(self) -> float:
        """τ of the prior correction: 0 under record- or client-level DP, whose noise-dominated scores it only pushes to rare labels."""
        noisy = self.dp() is not None or self.float("client-dp-noise-multiplier") > 0
        return 0.0 if noisy else self.float("prior-correction")

    def label_concentration(self) -> float:
        """How strongly the IDF weights favour buckets whose rows concentrate on few labels (0 = plain IDF)."""
        value = self.float("label-concentration")
        if value < 0:
            raise TaskConfigError(f"run-config 'label-concentration' must be 0 (plain IDF) or positive, got {value}")
        return value

    def out_of_scope_rows(self) -> int:
        """Synthetic chit-chat rows (`federation.chitchat`) each department trains as `out_of_scope` when
        that is one of the run's labels: `out-of-scope-rows`, or 0 for runs without the label."""
        rows = self.int("out-of-scope-rows")
        if rows < 0:
            raise TaskConfigError(f"run-config 'out-of-scope-rows' must be 0 (none) or positive, got {rows}")
        return rows if OUT_OF_SCOPE in self.labels() else 0

    def oos_threshold(self) -> float:
        """P(`out_of_scope`) from which the model rejects a message: `oos-threshold`, or for 0 (automatic)
        SYNTHETIC_OOS_THRESHOLD when the out-of-scope rows are synthetic, else the model's default."""
        value = self.float("oos-threshold")
        if not 0 <= value < 1:
            raise TaskConfigError(f"run-config 'oos-threshold' must be 0 (automatic) or a probability below 1, got {value}")
        if value:
            return value
        return SYNTHETIC_OOS_THRESHOLD if self.out_of_scope_rows() else IntentModel.oos_threshold

    def temperature(self) -> float:
        """The routing temperature the run fixes (`temperature` > 0), or 0: calibrated on the departments' held-out rows."""
        value = self.float("temperature")
        if value < 0:
            raise TaskConfigError(f"run-config 'temperature' must be 0 (calibrate) or positive, got {value}")
        return value

    def new_model(self) -> IntentModel:
        """A zero-initialised model for this run's labels, loss and feature space (no IDF weights yet)."""
        labels = self.labels()
        try:
            return IntentModel(
                labels=labels,
                loss=self.str("loss"),
                prior_correction=self.prior_correction(),
                request_types=self.request_types(),
                hasher=FeatureHasher(n_buckets=self.n_buckets()),
                departments={k: v for k, v in department_of().items() if k in labels},
                min_score=self.float("min-score"),
                oos_threshold=self.oos_threshold(),
            )
        except ValueError as exc:
            raise TaskConfigError(f"run-config: {exc}") from exc


DUAL_STRATEGY = "cocoa"


def check_dual_config(config: TaskConfig) -> None:
    """Refuse what breaks CoCoA+ (the model must stay the sum of the departments' dual variables)."""
    if config.str("strategy") != DUAL_STRATEGY:
        return
    conflicts = []
    if config.str("loss") != "modified-huber":
        conflicts.append(f"loss {config.str('loss')!r} (it solves the modified-huber loss)")
    if config.dp() is not None:
        conflicts.append("record-level DP (its accountant covers DP-SGD)")
    if config.float("client-dp-noise-multiplier") > 0:
        conflicts.append("client-level DP noise")
    if config.float("server-momentum") > 0:
        conflicts.append("server momentum")
    if config.float("svm-c") <= 0:
        conflicts.append("svm-c <= 0")
    if config.float("catalyst-kappa") < 0 or config.int("catalyst-rounds") < 1:
        conflicts.append("catalyst-kappa < 0 or catalyst-rounds < 1")
    if conflicts:
        raise TaskConfigError(f"strategy {DUAL_STRATEGY!r} cannot be combined with {'; '.join(conflicts)}: choose an SGD strategy such as classwise")


@dataclass(frozen=True)
class Department:
    """Where a department's data and state live (from `--node-config` or the simulation partition)."""

    department_id: str
    data_path: Path
    state_dir: Path

    @property
    def ledger_path(self) -> Path:
        """The department's (ε, δ) ledger file."""
        return self.state_dir / LEDGER_FILE

    @property
    def egress_path(self) -> Path:
        """The department's JSONL log of what left it."""
        return self.state_dir / EGRESS_FILE


def resolve_department(node_config: Mapping[str, object], config: TaskConfig) -> Department:
    """Department id and data path from node config (`department-id`, `data-path`, optional `state-dir`).

    In the simulation engine the node config only has `partition-id`: the department is then
    `department-<id>` with its CSV in the run config's `partitions-dir`.
    """
    if "data-path" in node_config:
        data_path = Path(str(node_config["data-path"]))
        dept = str(node_config.get("department-id") or data_path.stem)
    elif "partition-id" in node_config and config.str("partitions-dir"):
        dept = f"department-{int(node_config['partition-id'])}"  # type: ignore[arg-type]
        data_path = Path(config.str("partitions-dir")) / f"{dept}.csv"
    else:
        raise TaskConfigError("node config needs data-path (and department-id)")
    state = node_config.get("state-dir") or (Path(config.str("state-dir")) / dept if config.str("state-dir") else data_path.parent / ".federation-state" / dept)
    return Department(department_id=dept, data_path=data_path, state_dir=Path(str(state)))


@dataclass
class LocalData:
    """A department's featurised train and held-out splits with encoded labels.

    The first `messages` training rows are the messages; any rows after them are column rows (see
    `featurise_split`). Held-out rows are whole messages only.
    """

    x_train: object
    y_train: np.ndarray
    rt_train: np.ndarray | None
    x_eval: object
    y_eval: np.ndarray
    rt_eval: np.ndarray | None
    messages: int


def load_local_data(dept: Department, config: TaskConfig, model: IntentModel) -> LocalData:
    """Read the department's CSV, drop rows whose label the run does not know, split and featurise (with the model's IDF)."""
    data = read_labelled_csv(
        dept.data_path,
        text_columns=config.list("text-columns") or [TEXT_COLUMN],
        label_column=config.str("label-column"),
        request_type_column=config.str("request-type-column") or None,
    )
    known = set(model.labels)
    keep = [i for i, lab in enumerate(data.labels) if lab in known]
    data = data.subset(keep)
    column_rows = config.bool("column-rows") and config.dp() is None
    local = featurise_split(data, model, holdout_fraction=config.float("holdout-fraction"), seed=config.int("seed"), column_rows=column_rows)
    return with_chitchat(local, model, rows=config.out_of_scope_rows(), seed=config.int("seed") * 1_000_003 + zlib.crc32(dept.department_id.encode()))


def with_chitchat(local: LocalData, model: IntentModel, *, rows: int, seed: int) -> LocalData:
    """The split with `rows` synthetic chit-chat rows (`federation.chitchat`) appended to the training rows
    as `out_of_scope`, after the messages and column rows: they train the class, while the label
    counts (the department's messages) and the held-out rows (its citizens' messages) stay as they were."""
    if not rows:
        return local
    x = model.features(generate_chitchat(rows, seed=seed))
    y = np.full(rows, model.labels.index(OUT_OF_SCOPE), dtype=local.y_train.dtype)
    rt = np.full(rows, -1, dtype=local.rt_train.dtype) if local.rt_train is not None else None
    return replace(
        local,
        x_train=sp.vstack([local.x_train, x], format="csr"),
        y_train=np.concatenate([local.y_train, y]),
        rt_train=np.concatenate([local.rt_train, rt]) if rt is not None else None,
    )


def featurise_split(data: LabelledTexts, model: IntentModel, *, holdout_fraction: float, seed: int, column_rows: bool = False) -> LocalData:
    """Stratified train/held-out split of labelled texts, featurised with the model's hasher.

    With `column_rows`, each training message read from several text columns (`data.column_texts`)
    also trains as one extra row per non-empty column that is not the whole text, with the message's
    labels: a title alone, a body alone. Short requests (a chat message, a title) then meet weights
    learnt on short texts, and a title's words count for the topic even beside a long body.
    (Zhihuizhengwu, title and detail: +0.9 points of macro-F1 centrally; docs/bench/federation.md.)
    """
    train_idx, eval_idx = stratified_split(data.labels, test_fraction=holdout_fraction, seed=seed)
    owners: list[int] = []
    parts: list[str] = []
    if column_rows and data.column_texts is not None:
        for i in train_idx:
            for part in data.column_texts[i]:
                if part and part != data.texts[i]:
                    owners.append(int(i))
                    parts.append(part)
    rows = np.concatenate([train_idx, np.asarray(owners, dtype=np.int64)])
    x = model.features(data.texts)
    x_train = sp.vstack([x[train_idx], model.features(parts)], format="csr") if parts else x[train_idx]
    y = model.encode_labels(data.labels, model.labels)
    rt = None
    if data.request_types is not None and model.request_types:
        rt = model.encode_labels([r if r in model.request_types else None for r in data.request_types], model.request_types)
    return LocalData(
        x_train=x_train,
        y_train=y[rows],
        rt_train=rt[rows] if rt is not None else None,
        x_eval=x[eval_idx],
        y_eval=y[eval_idx],
        rt_eval=rt[eval_idx] if rt is not None else None,
        messages=len(train_idx),
    )


def with_idf(local: LocalData, idf: np.ndarray | None) -> LocalData:
    """The same split with IDF weights applied to unweighted features (departments cache the unweighted ones)."""
    if idf is None:
        return local
    return replace(local, x_train=weight_features(local.x_train, idf), x_eval=weight_features(local.x_eval, idf))  # type: ignore[arg-type]


@dataclass(frozen=True)
class FeatureCounts:
    """A department's counts for the feature weights, or their sum over departments (a plain sum, so
    it can run under secure aggregation): per hashed bucket how many training rows use it, the same
    per label (buckets × labels, None when the run weights by IDF alone), rows per label, and rows."""

    doc_freq: np.ndarray
    label_doc_freq: np.ndarray | None
    label_rows: np.ndarray | None
    num_docs: float

    def arrays(self) -> dict[str, np.ndarray]:
        """The counts as named float32 arrays, as they travel and are logged."""
        named = {"document-frequency": self.doc_freq, "label-document-frequency": self.label_doc_freq, "label-rows": self.label_rows}
        return {k: np.asarray(v, dtype=np.float32) for k, v in named.items() if v is not None}

    def plus(self, other: FeatureCounts) -> FeatureCounts:
        """The sum of two departments' counts (label counts only where both have them)."""

        def add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
            return None if a is None or b is None else a + b

        return FeatureCounts(self.doc_freq + other.doc_freq, add(self.label_doc_freq, other.label_doc_freq), add(self.label_rows, other.label_rows), self.num_docs + other.num_docs)

    def weights(self, strength: float) -> np.ndarray:
        """The feature weights: IDF, times 1 + `strength` × label concentration when there are label counts."""
        if self.label_doc_freq is None or self.label_rows is None:
            return idf_weights(self.doc_freq, self.num_docs)
        return idf_weights(self.doc_freq, self.num_docs, label_concentration(self.label_doc_freq, self.label_rows), strength)


def feature_counts(local: LocalData, num_labels: int, *, by_label: bool) -> FeatureCounts:
    """`FeatureCounts` over a department's training rows (label counts only `by_label`)."""
    x = local.x_train
    return FeatureCounts(
        doc_freq=document_frequencies(x),  # type: ignore[arg-type]
        label_doc_freq=label_document_frequencies(x, local.y_train, num_labels) if by_label else None,  # type: ignore[arg-type]
        label_rows=np.asarray(label_counts(local.y_train, num_labels), dtype=np.float64) if by_label else None,
        num_docs=int(x.shape[0]),  # type: ignore[attr-defined]
    )


def department_statistics(*, local: LocalData, dept: Department, run_id: str, config: TaskConfig) -> FeatureCounts:
    """The department's `FeatureCounts`, with label counts when the run's `label-concentration` is
    positive. Logged to the egress log like every other upload."""
    counts = feature_counts(local, len(config.labels()), by_label=config.label_concentration() > 0)
    log_egress(
        dept.egress_path,
        department_id=dept.department_id,
        run_id=run_id,
        server_round=0,
        arrays=counts.arrays(),
        metrics={"num-documents": int(counts.num_docs), "purpose": "feature weights: IDF and label concentration (summed over departments)"},
        dp=None,
    )
    return counts


def label_counts(y: np.ndarray, num_classes: int) -> list[int]:
    """Examples per class (ignoring unlabelled -1 rows)."""
    return np.bincount(y[y >= 0], minlength=num_classes).astype(int).tolist()


def train_department(
    *,
    model: IntentModel,
    local: LocalData,
    config: TaskConfig,
    dept: Department,
    run_id: str,
    server_round: int,
    seed: int,
    prox_mu: float = 0.0,
) -> tuple[TrainReport, dict[str, object]]:
    """One round of local training; checks and records the DP ledger; returns the report and metrics to send.

    Raises PrivacyBudgetExceeded (and trains nothing) when the round would exceed `dp-max-epsilon`.
    """
    ledger = _ledger_for_training(model, local, config, dept)
    dp = config.dp()
    release = None
    if dp is not None:
        steps = config.int("local-epochs") * max(1, round(1.0 / dp.sampling_rate))
        release = DpRelease(run_id, server_round, dp.sampling_rate, dp.noise_multiplier, steps, dp.clip_norm, now_iso())
        budget = config.float("dp-max-epsilon")
        if budget > 0 and ledger.epsilon_if(release) > budget:
            raise PrivacyBudgetExceeded(
                f"{dept.department_id}: ε would reach {ledger.epsilon_if(release):.2f} > budget {budget:.2f}"
            )
    report = model.fit(
        local.x_train,
        local.y_train,
        y_request_type=local.rt_train,
        epochs=config.int("local-epochs"),
        learning_rate=config.float("learning-rate"),
        batch_size=config.int("batch-size"),
        prox_mu=prox_mu,
        dp=dp,
        optimizer=config.str("optimizer"),
        seed=seed,
    )
    epsilon = ledger.record(release)
    metrics = _train_metrics(model, local, report)
    if dp is not None:
        metrics["epsilon"] = float(epsilon)
    return report, metrics


def spread_bytes(spread: np.ndarray) -> bytes:
    """How many departments hold each bucket, as sent under SPREAD_CONFIG_KEY."""
    return np.minimum(spread, 255).astype(np.uint8).tobytes()


def feature_sigma(raw: bytes | None, *, sigma: float, unknown: int, x_train: sp.csr_matrix) -> np.ndarray | None:
    """A CoCoA+ round's per-feature σ: each bucket's number of departments (`raw`, from `spread_bytes`)
    plus the round's `unknown` departments that were not counted, within [1, σ].

    None (the scalar σ) without a spread, or when this department holds a bucket that no department was
    counted for: its data changed after the statistics exchange, so the counts no longer bound the sum.
    """
    if raw is None:
        return None
    spread = np.frombuffer(bytes(raw), dtype=np.uint8)
    if spread.shape != (x_train.shape[1],):
        raise ValueError(f"the server's feature spread has {spread.size} entries, the model has {x_train.shape[1]} buckets")
    if unknown == 0 and (spread[np.unique(x_train.indices)] == 0).any():
        return None
    counts = np.where(spread == 255, sigma, spread.astype(np.float64) + unknown)
    return np.clip(counts, 1.0, sigma)


def train_department_dual(
    *,
    model: IntentModel,
    local: LocalData,
    config: TaskConfig,
    dept: Department,
    duals: list[np.ndarray],
    sigma: float,
    scale: float,
    seed: int,
    spread: tuple[bytes | None, int] = (None, 0),
) -> tuple[list[np.ndarray], dict[str, object]]:
    """One round of CoCoA+ (`federation.dual`): dual coordinate ascent on the department's rows from its
    committed dual variables; moves `model` by the department's change and returns the new variables and
    the metrics to send. `spread` is the server's per-bucket department counts and the round's uncounted
    departments (`feature_sigma`). The ledger records the round as trained without DP (ε = ∞)."""
    _ledger_for_training(model, local, config, dept).record(None)
    duals, report = dual_ascent(
        model,
        local.x_train,  # type: ignore[arg-type]
        [local.y_train] + ([local.rt_train] if model.request_types else []),
        duals,
        c=config.float("svm-c"),
        sigma=sigma,
        feature_sigma=feature_sigma(spread[0], sigma=sigma, unknown=spread[1], x_train=local.x_train),  # type: ignore[arg-type]
        scale=scale,
        epochs=config.int("local-epochs"),
        seed=seed,
    )
    return duals, _train_metrics(model, local, report)


def _ledger_for_training(model: IntentModel, local: LocalData, config: TaskConfig, dept: Department) -> PrivacyLedger:
    """The department's privacy ledger, once it is clear there is something to train on."""
    if local.messages == 0:  # synthetic chit-chat alone is nothing to train on
        raise DataFileError(f"{dept.department_id}: no training rows with a label this run knows ({', '.join(model.labels)})")
    return PrivacyLedger(dept.ledger_path, department_id=dept.department_id, delta=config.float("dp-delta"))


def _train_metrics(model: IntentModel, local: LocalData, report: TrainReport) -> dict[str, object]:
    metrics: dict[str, object] = {
        "num-examples": int(report.num_examples),
        "train-loss": float(report.mean_loss),
        "label-counts": label_counts(local.y_train[: local.messages], len(model.labels)),
    }
    if model.request_types:
        rt = local.rt_train[: local.messages] if local.rt_train is not None else np.full(0, -1)
        metrics["request-type-counts"] = label_counts(rt, len(model.request_types))
    return metrics


def evaluate_department(*, model: IntentModel, local: LocalData) -> dict[str, object]:
    """Held-out accuracy, macro-F1 and mean NLL per calibration temperature (for federated calibration)."""
    n = int(local.x_eval.shape[0])
    if n == 0:
        return {"num-examples": 0, "accuracy": 0.0, "macro-f1": 0.0, "nll-by-temperature": [0.0] * len(model.temperature_grid())}
    logits, _ = model.logits(local.x_eval)
    pred = model.routes(logits)
    nll = np.asarray(model.nll_by_temperature(local.x_eval, local.y_eval)) / n
    metrics: dict[str, object] = {
        "num-examples": n,
        "accuracy": float((pred == local.y_eval).mean()),
        "macro-f1": macro_f1(local.y_eval, pred, len(model.labels)),
        "nll-by-temperature": nll.astype(float).tolist(),
    }
    if model.request_types and local.rt_eval is not None and (local.rt_eval >= 0).any():
        rt_nll = np.asarray(model.nll_by_temperature(local.x_eval, local.rt_eval, head=1)) / n
        metrics["request-type-nll-by-temperature"] = rt_nll.astype(float).tolist()
    return metrics


def evaluate_centrally(model: IntentModel, path: str | Path, config: TaskConfig, *, cache: dict[str, object] | None = None) -> dict[str, float]:
    """Macro-F1 and accuracy of `model` on a labelled CSV (server-side evaluation in development runs).

    `cache` (a dict the caller keeps between rounds) saves re-reading and re-featurising the file.
    """
    if cache is not None and "features" in cache:
        x, y = cache["features"], cache["labels"]
    else:
        data = read_labelled_csv(path, text_columns=config.list("text-columns") or [TEXT_COLUMN], label_column=config.str("label-column"))
        data = data.subset([i for i, lab in enumerate(data.labels) if lab in set(model.labels)])
        x = model.hasher.transform(data.texts)
        y = model.encode_labels(data.labels, model.labels)
        if cache is not None:
            cache.update(features=x, labels=y)
    logits, _ = model.logits(weight_features(x, model.idf))  # type: ignore[arg-type]
    pred = model.routes(logits)
    return {"macro-f1": macro_f1(y, pred, len(model.labels)), "accuracy": float((pred == y).mean()), "num-examples": float(len(y))}  # type: ignore[arg-type]


@dataclass
class RoundEvent:
    """What the server reports after a round (final=True once the model files are written)."""

    run_id: str
    server_round: int
    model_out_dir: str
    metrics: dict[str, object] = field(default_factory=dict)
    final: bool = False


RoundHook = Callable[[RoundEvent], None]


def load_round_hook(spec: str) -> RoundHook | None:
    """Import a round hook named "package.module:function" (empty spec = no hook)."""
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise TaskConfigError(f"round-hook must look like package.module:function, got {spec!r}")
    try:
        hook = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TaskConfigError(f"round-hook {spec!r} cannot be imported ({exc})") from exc
    if not callable(hook):
        raise TaskConfigError(f"round-hook {spec!r} is not callable")
    return hook


def append_round(out_dir: str | Path, event: RoundEvent) -> None:
    """Append one round's event to `rounds.jsonl` in the model output directory."""
    path = Path(out_dir) / ROUNDS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(event), ensure_ascii=False, default=float) + "\n")


def write_metrics(out_dir: str | Path, metrics: Mapping[str, object]) -> Path:
    """Write the run's final `metrics.json` into the model output directory."""
    path = Path(out_dir) / METRICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, ensure_ascii=False, indent=2, default=float), encoding="utf-8")
    return path


def record_egress(*, dept: Department, run_id: str, server_round: int, model: IntentModel, metrics: Mapping[str, object], config: TaskConfig) -> None:
    """Log the arrays and metrics this department is about to send (with the DP facts) to its egress log."""
    dp = config.dp()
    dp_facts = None
    if dp is not None:
        dp_facts = {
            "clip_norm": dp.clip_norm,
            "noise_multiplier": dp.noise_multiplier,
            "sampling_rate": dp.sampling_rate,
            "delta": config.float("dp-delta"),
            "epsilon_total": metrics.get("epsilon"),
        }
    if config.float("client-dp-noise-multiplier") > 0:
        dp_facts = {**(dp_facts or {}), "client_update_clip_norm": config.float("client-dp-clip-norm")}
    log_egress(
        dept.egress_path,
        department_id=dept.department_id,
        run_id=run_id,
        server_round=server_round,
        arrays={f"param-{i}": a for i, a in enumerate(model.arrays)},
        metrics=dict(metrics),
        dp=dp_facts,
    )
