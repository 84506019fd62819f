"""The intent model: IDF-weighted hashed character n-grams and jieba words into linear one-vs-rest heads, in numpy.

Pure module (no Flower import): it featurises, trains one department's local epochs (optionally with
DP-SGD), calibrates, predicts, and saves/loads. Parameters travel as a list of numpy arrays; the IDF
weights are a sum of departments' document frequencies, computed once before training.
"""

from __future__ import annotations

import json
import logging
import math
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import rjieba
import scipy.sparse as sp

OUT_OF_SCOPE = "out_of_scope"
MODEL_FILE = "model.npz"
META_FILE = "model.json"
FORMAT_VERSION = 2
LOSSES = ("modified-huber", "softmax")
SEGMENTATIONS = ("search", "hmm")
# Hasher settings of model files written before these fields existed (how they were featurised).
LEGACY_HASHER_SETTINGS = {"segmentation": "hmm"}

MAX_BUCKETS = 2**17
MIN_BUCKETS = 2**12
PARAMETER_BUDGET_BYTES = 16 * 2**20
"""The most bytes of weights `auto_buckets` allows: with the IDF vector and the metadata, a model stays under 20 MB."""

_PRIME = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_TEMPERATURE_GRID = tuple(float(t) for t in np.geomspace(0.05, 20.0, 61))


class ModelFileError(ValueError):
    """A model directory is missing, incomplete or of another format."""


@dataclass(frozen=True)
class Prediction:
    """One message's routing: top label, its calibrated probability, request type and scope."""

    label: str
    score: float
    out_of_scope: bool
    department: str | None = None
    request_type: str | None = None
    request_type_score: float | None = None


@dataclass(frozen=True)
class DpSgdConfig:
    """Record-level DP-SGD: per-example L2 clipping norm, noise multiplier, Poisson sampling rate."""

    clip_norm: float = 1.0
    noise_multiplier: float = 1.0
    sampling_rate: float = 0.05


@dataclass
class TrainReport:
    """What one call of local training did: examples, steps and the DP parameters used."""

    num_examples: int
    steps: int
    mean_loss: float
    dp_steps: int = 0
    dp_sampling_rate: float = 0.0
    dp_noise_multiplier: float = 0.0
    dp_clip_norm: float = 0.0


def normalise_text(text: str) -> str:
    """NFKC-normalise (full-width to half-width), lower-case and collapse whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def _char_ngram_buckets(text: str, n_buckets: int, max_n: int) -> np.ndarray:
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts = []
    rolling = np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in range(1, max_n + 1):
            if len(codes) < n:
                break
            rolling = codes[: len(codes) - n + 1].copy() if n == 1 else rolling[:-1] * _PRIME + codes[n - 1 :]
            mixed = (rolling + np.uint64(n)) * _MIX
            mixed ^= mixed >> np.uint64(29)
            parts.append(mixed % np.uint64(n_buckets))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def _word_buckets(text: str, n_buckets: int, segmentation: str) -> np.ndarray:
    if segmentation == "search":
        tokens = rjieba.cut_for_search(text, False)
    else:
        import jieba

        tokens = jieba.lcut(text)
    words = [w for w in tokens if len(w) >= 2 and not w.isspace()]
    return np.fromiter((zlib.crc32(b"w\x00" + w.encode()) % n_buckets for w in words), dtype=np.uint64, count=len(words))


def auto_buckets(num_outputs: int) -> int:
    """The most hashed buckets, a power of two from MIN_BUCKETS to MAX_BUCKETS, whose float32 weights for
    `num_outputs` outputs (intents plus request types) fit PARAMETER_BUDGET_BYTES.

    Up to 32 outputs keep 2^17 buckets; 124 departments get 2^15 (16 MB instead of 65 MB, about half a
    point of macro-F1 on Taipei's 70 largest departments).
    """
    buckets = MAX_BUCKETS
    while buckets > MIN_BUCKETS and 4 * buckets * num_outputs > PARAMETER_BUDGET_BYTES:
        buckets //= 2
    return buckets


@dataclass(frozen=True)
class FeatureHasher:
    """Maps texts to L2-normalised (IDF-weighted) log-count vectors over hashed char 1..n-grams and jieba words.

    `segmentation` picks the jieba words: `search` (dictionary words plus their dictionary sub-words,
    no HMM guesses at unknown words: `jieba.lcut_for_search(HMM=False)`, computed by rjieba, the Rust
    port with the same dictionary and the same tokens, 12 times faster) or `hmm` (plain `jieba.lcut`,
    the setting of older model files).
    """

    n_buckets: int = MAX_BUCKETS
    max_ngram: int = 2
    use_words: bool = True
    max_chars: int = 1000
    segmentation: str = "search"

    def __post_init__(self) -> None:
        if self.segmentation not in SEGMENTATIONS:
            raise ValueError(f"unknown segmentation {self.segmentation!r}; use {' or '.join(SEGMENTATIONS)}")

    def transform(self, texts: Sequence[str], idf: np.ndarray | None = None) -> sp.csr_matrix:
        """Featurise texts into a (len(texts), n_buckets) float32 CSR matrix; rows have unit norm.

        With `idf` (one weight per bucket), each log count is multiplied by its bucket's weight
        before the row is normalised.
        """
        if idf is not None and np.shape(idf) != (self.n_buckets,):
            raise ValueError(f"idf has shape {np.shape(idf)}, the hasher has {self.n_buckets} buckets")
        if self.use_words and self.segmentation == "hmm":
            import jieba

            jieba.setLogLevel(logging.WARNING)
        indptr = [0]
        indices: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for text in texts:
            clean = normalise_text(text)[: self.max_chars]
            buckets = _char_ngram_buckets(clean, self.n_buckets, self.max_ngram)
            if self.use_words and clean:
                buckets = np.concatenate([buckets, _word_buckets(clean, self.n_buckets, self.segmentation)])
            uniq, counts = np.unique(buckets.astype(np.int64), return_counts=True)
            vals = 1.0 + np.log(counts.astype(np.float32))
            if idf is not None:
                vals *= idf[uniq]
            norm = float(np.linalg.norm(vals))
            if norm > 0:
                vals /= norm
            indices.append(uniq)
            values.append(vals.astype(np.float32))
            indptr.append(indptr[-1] + len(uniq))
        data = np.concatenate(values) if values else np.zeros(0, np.float32)
        idx = np.concatenate(indices) if indices else np.zeros(0, np.int64)
        return sp.csr_matrix((data, idx, np.asarray(indptr)), shape=(len(texts), self.n_buckets), dtype=np.float32)


def document_frequencies(features: sp.csr_matrix) -> np.ndarray:
    """Per bucket, how many rows (documents) use it: what a department contributes to the IDF sum."""
    return np.bincount(features.indices, minlength=features.shape[1]).astype(np.float64)


def label_document_frequencies(features: sp.csr_matrix, labels: np.ndarray, num_labels: int) -> np.ndarray:
    """Per bucket and label, how many rows of that label use the bucket (buckets × labels); rows
    without a label (-1) count for none. What a department contributes to the label concentration."""
    labelled = np.flatnonzero(np.asarray(labels) >= 0)
    present = sp.csr_matrix(features[labelled], dtype=np.float64, copy=True)
    present.data[:] = 1.0
    onehot = sp.csr_matrix((np.ones(len(labelled)), (np.arange(len(labelled)), np.asarray(labels)[labelled])), shape=(len(labelled), num_labels))
    return np.asarray((present.T @ onehot).todense())


def label_concentration(label_doc_freq: np.ndarray, label_rows: np.ndarray, *, smoothing: float = 1.0) -> np.ndarray:
    """Per bucket, how much its rows concentrate on few labels: 1 − H(label | bucket) / log K, from 0
    (spread like the labels, or unseen) to 1 (one label only).

    Each label's rows count equally (its document frequency is divided by its row count, so a busy
    label does not look concentrated for being busy), and every bucket gets `smoothing` rows spread
    like the labels, so a bucket seen in one row is not taken for a sure sign. Labels without rows
    are left out; with fewer than two labels the concentration is 0 everywhere.
    """
    rows = np.asarray(label_rows, dtype=np.float64)
    held = rows > 0
    if held.sum() < 2:
        return np.zeros(label_doc_freq.shape[0], dtype=np.float64)
    counts = np.clip(np.asarray(label_doc_freq, dtype=np.float64)[:, held], 0.0, None)
    prior = rows[held] / rows[held].sum()
    share = (counts + smoothing * prior) / (counts.sum(axis=1, keepdims=True) + smoothing) / prior
    share /= share.sum(axis=1, keepdims=True)
    entropy = -(share * np.log(np.where(share > 0, share, 1.0))).sum(axis=1)
    return np.clip(1.0 - entropy / math.log(int(held.sum())), 0.0, 1.0)


def idf_weights(doc_freq: np.ndarray, num_docs: float, concentration: np.ndarray | None = None, strength: float = 0.0) -> np.ndarray:
    """Smoothed IDF, log((1 + N) / (1 + df)) + 1, as float32 (unseen buckets get the largest weight),
    times 1 + `strength` × the buckets' label concentration when one is given (see `label_concentration`)."""
    df = np.clip(np.asarray(doc_freq, dtype=np.float64), 0.0, None)
    n = max(float(num_docs), float(df.max(initial=0.0)))
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    if concentration is not None:
        idf *= 1.0 + strength * concentration
    return idf.astype(np.float32)


def weight_features(features: sp.csr_matrix, idf: np.ndarray | None) -> sp.csr_matrix:
    """Apply IDF weights to unweighted features from `FeatureHasher.transform` (same result as passing `idf` there)."""
    if idf is None:
        return features
    weighted = sp.csr_matrix(features, dtype=np.float32, copy=True)
    weighted.data *= np.asarray(idf, dtype=np.float32)[weighted.indices]
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    weighted.data /= np.repeat(np.where(norms > 0, norms, 1.0), np.diff(weighted.indptr)).astype(np.float32)
    return weighted


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _one_hot(y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    mask = y >= 0
    out = np.zeros((len(y), k), dtype=np.float32)
    out[np.nonzero(mask)[0], y[mask]] = 1.0
    return out, mask


def _loss_gradient(scores: np.ndarray, y: np.ndarray, mask: np.ndarray, loss: str) -> tuple[np.ndarray, float]:
    """Per-example gradient of the loss w.r.t. the scores (zero rows where unlabelled) and the summed loss.

    modified-huber: one-vs-rest, target +1 for the label and -1 for every other class; the squared
    hinge (LinearSVC's loss) for margins above -1 and linear below, so a large learning rate cannot
    make a badly wrong score's gradient grow without bound.
    """
    if loss == "softmax":
        p = _softmax(scores)
        grad = (p - y) * mask[:, None]
        value = float(-np.log(np.clip((p * y).sum(1), 1e-9, None))[mask].sum())
        return grad.astype(np.float32), value
    signs = 2.0 * y - 1.0
    margin = signs * scores
    slack = np.minimum(np.maximum(0.0, 1.0 - margin), 2.0) * mask[:, None]
    value = np.where(margin < -1.0, -4.0 * margin, slack * slack) * mask[:, None]
    return (-2.0 * signs * slack).astype(np.float32), float(value.sum())


@dataclass
class IntentModel:
    """Linear one-vs-rest (or softmax) heads over hashed features: intents and an optional request type.

    Scores become probabilities by a softmax over the scores divided by a calibrated temperature,
    minus `prior_correction` × the log of each label's share of the training rows (`label_counts`):
    Menon et al.'s post-hoc logit adjustment ("Long-tail learning via logit adjustment", ICLR 2021),
    which at 1.0 routes as if every department received as many messages as the busiest, so a broad,
    frequent topic stops absorbing the messages of smaller departments.
    """

    labels: tuple[str, ...]
    request_types: tuple[str, ...] = ()
    hasher: FeatureHasher = field(default_factory=FeatureHasher)
    departments: dict[str, str] = field(default_factory=dict)
    temperature: float = 1.0
    request_type_temperature: float = 1.0
    min_score: float = 0.0
    oos_threshold: float = 0.5
    arrays: list[np.ndarray] = field(default_factory=list)
    metadata: dict[str, object] = field(default_factory=dict)
    loss: str = "modified-huber"
    idf: np.ndarray | None = None
    label_counts: tuple[int, ...] = ()
    prior_correction: float = 0.0

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels) or len(self.labels) < 2:
            raise ValueError("labels must be at least two distinct names")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; use {' or '.join(LOSSES)}")
        if not 0.0 <= self.prior_correction <= 2.0:
            raise ValueError(f"prior correction must be in [0, 2], got {self.prior_correction}")
        if self.idf is not None:
            self.idf = np.asarray(self.idf, dtype=np.float32)
            if self.idf.shape != (self.hasher.n_buckets,):
                raise ValueError(f"idf has shape {self.idf.shape}, the hasher has {self.hasher.n_buckets} buckets")
        if not self.arrays:
            self.arrays = self.initial_arrays()
        self._check_arrays(self.arrays)

    def initial_arrays(self) -> list[np.ndarray]:
        """Zero weights and biases for every head (softmax training from zero is well defined)."""
        d = self.hasher.n_buckets
        arrays = [np.zeros((d, len(self.labels)), np.float32), np.zeros(len(self.labels), np.float32)]
        if self.request_types:
            arrays += [np.zeros((d, len(self.request_types)), np.float32), np.zeros(len(self.request_types), np.float32)]
        return arrays

    def _check_arrays(self, arrays: Sequence[np.ndarray]) -> None:
        want = [tuple(a.shape) for a in self.initial_arrays()]
        shapes = [tuple(np.shape(a)) for a in arrays]
        if shapes != want:
            raise ValueError(f"parameter shapes {shapes} do not match the model's {want}")

    def get_arrays(self) -> list[np.ndarray]:
        """The parameters as a list of float32 arrays (intent W, b[, request-type W, b])."""
        return [a.copy() for a in self.arrays]

    def set_arrays(self, arrays: Sequence[np.ndarray]) -> None:
        """Replace the parameters (shapes must match)."""
        self._check_arrays(list(arrays))
        self.arrays = [np.asarray(a, dtype=np.float32).copy() for a in arrays]

    @property
    def size_bytes(self) -> int:
        """Bytes of the parameters (what one upload or download of the model costs)."""
        return int(sum(a.nbytes for a in self.arrays))

    # ----- inference -------------------------------------------------------------------------
    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Featurise texts the way this model was trained (hashing plus its IDF weights, if any)."""
        return self.hasher.transform(texts, self.idf)

    def logits(self, features: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray | None]:
        """Uncalibrated logits of each head for featurised texts."""
        intent = np.asarray(features @ self.arrays[0]) + self.arrays[1]
        rtype = np.asarray(features @ self.arrays[2]) + self.arrays[3] if self.request_types else None
        return intent, rtype

    def scores(self, intent_logits: np.ndarray) -> np.ndarray:
        """Calibrated, prior-corrected intent log-probabilities (`predict_proba` exponentiated; `routes` picks the label).

        A label's correction is `prior_correction` × log(busiest label's count / its count); labels
        without training rows get none. It only redistributes the in-scope probability among the
        departments' labels: P(`out_of_scope`), which its threshold decides on, stays as calibrated.
        """
        z = intent_logits / self.temperature
        log_p = _log_softmax(z)
        counts = np.asarray(self.label_counts, dtype=np.float64)
        if not self.prior_correction or counts.shape != (len(self.labels),) or not (counts > 0).any():
            return log_p
        inside = np.asarray([label != OUT_OF_SCOPE for label in self.labels])
        boost = np.where(counts > 0, np.log(counts.max() / np.maximum(counts, 1.0)), 0.0)
        in_scope_mass = np.exp(log_p[:, inside]).sum(axis=1, keepdims=True)
        out = log_p.copy()
        out[:, inside] = np.log(in_scope_mass) + _log_softmax(z[:, inside] + self.prior_correction * boost[inside])
        return out

    def routes(self, intent_logits: np.ndarray) -> np.ndarray:
        """The label index `predict` gives each row of logits: what evaluations score."""
        return self._routes(np.exp(self.scores(intent_logits)))

    def _routes(self, probs: np.ndarray) -> np.ndarray:
        """`out_of_scope` where its probability reaches `oos_threshold`, else the most probable in-scope label."""
        if OUT_OF_SCOPE not in self.labels:
            return probs.argmax(axis=1)
        oos = self.labels.index(OUT_OF_SCOPE)
        in_scope = probs.copy()
        in_scope[:, oos] = -1.0
        return np.where(probs[:, oos] >= self.oos_threshold, oos, in_scope.argmax(axis=1))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated intent probabilities, shape (len(texts), len(labels))."""
        intent, _ = self.logits(self.features(texts))
        return np.exp(self.scores(intent))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Route each text: best in-scope label with its calibrated score, request type, and scope.

        The text is out of scope when P(out_of_scope) ≥ `oos_threshold` (then the label is
        `out_of_scope` with that probability) or when the best in-scope probability is below `min_score`.
        """
        if not texts:
            return []
        intent, rtype = self.logits(self.features(texts))
        probs = np.exp(self.scores(intent))
        rprobs = _softmax(rtype / self.request_type_temperature) if rtype is not None else None
        out = []
        for i, top in enumerate(self._routes(probs)):
            label, score = self.labels[top], float(probs[i, top])
            rt = rt_score = None
            if rprobs is not None:
                r = int(rprobs[i].argmax())
                rt, rt_score = self.request_types[r], float(rprobs[i][r])
            out.append(
                Prediction(
                    label=label,
                    score=score,
                    out_of_scope=label == OUT_OF_SCOPE or score < self.min_score,
                    department=self.departments.get(label),
                    request_type=rt,
                    request_type_score=rt_score,
                )
            )
        return out

    # ----- training ----------------------------------------------------------------------------
    def encode_labels(self, labels: Sequence[str | None], names: Sequence[str]) -> np.ndarray:
        """Map label names to indices; None or empty means 'not labelled for this head' (-1)."""
        index = {name: i for i, name in enumerate(names)}
        out = np.full(len(labels), -1, dtype=np.int64)
        for i, name in enumerate(labels):
            if name:
                if name not in index:
                    raise ValueError(f"unknown label {name!r}; known: {', '.join(names)}")
                out[i] = index[name]
        return out

    def fit(
        self,
        features: sp.csr_matrix,
        y: np.ndarray,
        *,
        y_request_type: np.ndarray | None = None,
        epochs: int = 5,
        learning_rate: float = 0.05,
        batch_size: int = 32,
        weight_decay: float = 1e-6,
        prox_mu: float = 0.0,
        dp: DpSgdConfig | None = None,
        optimizer: str = "adam",
        seed: int = 0,
    ) -> TrainReport:
        """Train in place with SGD or Adam (or DP-SGD on the noised gradient) on the model's loss; returns a report.

        With `dp`, each step draws a Poisson sample (rate `dp.sampling_rate`), clips every example's
        gradient to `dp.clip_norm`, adds Gaussian noise of std `noise_multiplier * clip_norm` to the sum
        and divides by the expected batch size: standard DP-SGD, accounted by `federation.privacy`.
        `prox_mu` > 0 adds FedProx's proximal term towards the starting parameters.
        """
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {optimizer!r}; use adam or sgd")
        n = features.shape[0]
        if n == 0:
            return TrainReport(num_examples=0, steps=0, mean_loss=0.0)
        rng = np.random.default_rng(seed)
        k_int = len(self.labels)
        y_int, m_int = _one_hot(y, k_int)
        has_rt = bool(self.request_types) and y_request_type is not None
        if has_rt:
            y_rt, m_rt = _one_hot(np.asarray(y_request_type), len(self.request_types))
        anchor = [a.copy() for a in self.arrays] if prox_mu > 0 else None
        moments = [np.zeros_like(a) for a in self.arrays]
        second = [np.zeros_like(a) for a in self.arrays]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        row_sq = np.asarray(features.multiply(features).sum(axis=1)).ravel() + 1.0
        if dp is None:
            steps_per_epoch = max(1, math.ceil(n / batch_size))
        else:
            steps_per_epoch = max(1, round(1.0 / dp.sampling_rate))
        total_steps = epochs * steps_per_epoch
        losses = []
        step = 0
        # Plain SGD touches only the weight rows of the batch's buckets (fast on 2^17 buckets); its
        # weight decay is then applied once per epoch, compounded over the epoch's steps.
        sparse_sgd = optimizer == "sgd" and dp is None and anchor is None
        for _ in range(epochs):
            if sparse_sgd and weight_decay > 0:
                for a in self.arrays:
                    a *= np.float32((1.0 - learning_rate * weight_decay) ** steps_per_epoch)
            order = rng.permutation(n) if dp is None else None
            for s in range(steps_per_epoch):
                if dp is None:
                    batch = order[s * batch_size : (s + 1) * batch_size]
                else:
                    batch = np.nonzero(rng.random(n) < dp.sampling_rate)[0]
                xb = features[batch]
                g_int, loss_sum = _loss_gradient(np.asarray(xb @ self.arrays[0]) + self.arrays[1], y_int[batch], m_int[batch], self.loss)
                losses.append(loss_sum / max(1, len(batch)))
                heads = [g_int]
                if has_rt:
                    g_rt, _ = _loss_gradient(np.asarray(xb @ self.arrays[2]) + self.arrays[3], y_rt[batch], m_rt[batch], self.loss)
                    heads.append(g_rt)
                if dp is not None:
                    err_sq = sum((g * g).sum(axis=1) for g in heads)
                    norms = np.sqrt(row_sq[batch] * err_sq)
                    scale = np.minimum(1.0, dp.clip_norm / np.maximum(norms, 1e-12)).astype(np.float32)
                    heads = [g * scale[:, None] for g in heads]
                    denom = max(1.0, dp.sampling_rate * n)
                else:
                    denom = max(1, len(batch))
                if sparse_sgd:
                    step += 1
                    self._sparse_sgd_step(xb, heads, learning_rate / denom)
                    continue
                grads = []
                for g in heads:
                    grads += [np.asarray(xb.T @ g, dtype=np.float32), g.sum(axis=0).astype(np.float32)]
                if dp is not None:
                    sigma = dp.noise_multiplier * dp.clip_norm
                    grads = [(gr + rng.normal(0.0, sigma, gr.shape).astype(np.float32)) for gr in grads]
                step += 1
                for j, gr in enumerate(grads):
                    gr = gr / denom + weight_decay * self.arrays[j]
                    if anchor is not None:
                        gr = gr + prox_mu * (self.arrays[j] - anchor[j])
                    if optimizer == "sgd":
                        self.arrays[j] -= (learning_rate * gr).astype(np.float32)
                        continue
                    moments[j] = beta1 * moments[j] + (1 - beta1) * gr
                    second[j] = beta2 * second[j] + (1 - beta2) * gr * gr
                    m_hat = moments[j] / (1 - beta1**step)
                    v_hat = second[j] / (1 - beta2**step)
                    self.arrays[j] -= (learning_rate * m_hat / (np.sqrt(v_hat) + eps)).astype(np.float32)
        report = TrainReport(num_examples=n, steps=total_steps, mean_loss=float(np.mean(losses)) if losses else 0.0)
        if dp is not None:
            report.dp_steps = total_steps
            report.dp_sampling_rate = dp.sampling_rate
            report.dp_noise_multiplier = dp.noise_multiplier
            report.dp_clip_norm = dp.clip_norm
        return report

    def _sparse_sgd_step(self, xb: sp.csr_matrix, heads: list[np.ndarray], step_size: float) -> None:
        """One SGD step on each head's (W, b), updating only the rows of W the batch's features use."""
        rows = np.unique(xb.indices)
        compact = sp.csr_matrix((xb.data, np.searchsorted(rows, xb.indices), xb.indptr), shape=(xb.shape[0], len(rows)))
        for h, g in enumerate(heads):
            w, b = self.arrays[2 * h], self.arrays[2 * h + 1]
            w[rows] -= (step_size * np.asarray(compact.T @ g)).astype(np.float32)
            b -= np.float32(step_size) * g.sum(axis=0).astype(np.float32)

    # ----- calibration -------------------------------------------------------------------------
    @staticmethod
    def temperature_grid() -> tuple[float, ...]:
        """The temperatures tried by calibration (shared by departments so NLL sums line up)."""
        return _TEMPERATURE_GRID

    def nll_by_temperature(self, features: sp.csr_matrix, y: np.ndarray, *, head: int = 0) -> list[float]:
        """Summed negative log-likelihood of labelled rows at each grid temperature (for one head)."""
        intent, rtype = self.logits(features)
        logits = intent if head == 0 else rtype
        mask = y >= 0
        if logits is None or not mask.any():
            return [0.0] * len(_TEMPERATURE_GRID)
        logits, labels = logits[mask], y[mask]
        out = []
        for t in _TEMPERATURE_GRID:
            z = logits / t
            z = z - z.max(axis=1, keepdims=True)
            logp = z[np.arange(len(labels)), labels] - np.log(np.exp(z).sum(axis=1))
            out.append(float(-logp.sum()))
        return out

    def calibrate(self, features: sp.csr_matrix, y: np.ndarray, y_request_type: np.ndarray | None = None) -> None:
        """Temperature scaling on a held-out split: pick the grid temperature with the least NLL."""
        self.temperature = pick_temperature(self.nll_by_temperature(features, y))
        if self.request_types and y_request_type is not None:
            self.request_type_temperature = pick_temperature(self.nll_by_temperature(features, y_request_type, head=1))

    # ----- persistence -------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write `model.npz` (parameters) and `model.json` (labels, hasher, calibration) into a directory."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        extra = {"idf": self.idf} if self.idf is not None else {}
        np.savez_compressed(out / MODEL_FILE, *self.arrays, **extra)
        meta = {
            "format_version": FORMAT_VERSION,
            "loss": self.loss,
            "labels": list(self.labels),
            "request_types": list(self.request_types),
            "departments": self.departments,
            "hasher": asdict(self.hasher),
            "temperature": self.temperature,
            "request_type_temperature": self.request_type_temperature,
            "min_score": self.min_score,
            "oos_threshold": self.oos_threshold,
            "label_counts": list(self.label_counts),
            "prior_correction": self.prior_correction,
            "metadata": self.metadata,
        }
        (out / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> IntentModel:
        """Load a model written by `save` (raises ModelFileError with the reason if it cannot)."""
        src = Path(directory)
        if not (src / META_FILE).is_file() or not (src / MODEL_FILE).is_file():
            raise ModelFileError(f"{src} has no {META_FILE} and {MODEL_FILE}")
        try:
            meta = json.loads((src / META_FILE).read_text(encoding="utf-8"))
            version = meta.get("format_version")
            if version not in (1, FORMAT_VERSION):
                raise ModelFileError(f"{src / META_FILE}: unsupported format_version {version!r} (this code reads 1 and {FORMAT_VERSION})")
            with np.load(src / MODEL_FILE) as npz:
                arrays = [npz[name] for name in sorted((f for f in npz.files if f.startswith("arr_")), key=lambda f: int(f[4:]))]
                idf = npz["idf"] if "idf" in npz.files else None
            # Version 1 files are softmax models without IDF weights.
            return cls(
                loss=str(meta.get("loss", "softmax")),
                idf=idf,
                labels=tuple(meta["labels"]),
                request_types=tuple(meta.get("request_types", ())),
                hasher=FeatureHasher(**{**LEGACY_HASHER_SETTINGS, **meta["hasher"]}),
                departments=dict(meta.get("departments", {})),
                temperature=float(meta.get("temperature", 1.0)),
                request_type_temperature=float(meta.get("request_type_temperature", 1.0)),
                min_score=float(meta.get("min_score", 0.0)),
                oos_threshold=float(meta.get("oos_threshold", 0.5)),
                label_counts=tuple(int(c) for c in meta.get("label_counts", ())),
                prior_correction=float(meta.get("prior_correction", 0.0)),
                arrays=arrays,
                metadata=dict(meta.get("metadata", {})),
            )
        except (KeyError, TypeError, ValueError, OSError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{src}: unreadable model ({exc})") from exc


def pick_temperature(nll: Sequence[float]) -> float:
    """The grid temperature with the least summed NLL (1.0 if nothing was measured)."""
    if not any(nll):
        return 1.0
    return _TEMPERATURE_GRID[int(np.argmin(nll))]


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> float:
    """Macro-averaged F1 over the classes present in y_true or y_pred."""
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    scores = []
    for k in range(num_classes):
        tp = int(((t == k) & (p == k)).sum())
        fp = int(((t != k) & (p == k)).sum())
        fn = int(((t == k) & (p != k)).sum())
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0
