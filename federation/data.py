"""Labelled message files and how a data set is split into departments (partitions) and test sets."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

TEXT_COLUMN = "text"
LABEL_COLUMN = "label"
REQUEST_TYPE_COLUMN = "request_type"
DELIMITERS = (",", "\t", ";")
"""The column delimiters a labelled file may use, tried in this order on its header line."""


class DataFileError(ValueError):
    """A data file or option is unusable; the message says which and why."""


@dataclass(frozen=True)
class LabelledTexts:
    """Messages with an intent label each and, optionally, a request type each ('' = unknown).

    `texts` is what a model reads: the message's text columns joined with a space. Messages read from
    several text columns (a title and a body) keep each column's own text in `column_texts`, one tuple
    per message in the order of `text_columns`, so departments can also train on each part alone.
    """

    texts: list[str]
    labels: list[str]
    request_types: list[str] | None = None
    text_columns: tuple[str, ...] = (TEXT_COLUMN,)
    column_texts: list[tuple[str, ...]] | None = None

    def subset(self, index: Sequence[int]) -> LabelledTexts:
        """The rows at `index`, in that order."""
        idx = list(index)
        rts = [self.request_types[i] for i in idx] if self.request_types is not None else None
        columns = [self.column_texts[i] for i in idx] if self.column_texts is not None else None
        return LabelledTexts([self.texts[i] for i in idx], [self.labels[i] for i in idx], rts, self.text_columns, columns)

    def relabelled(self, labels: Sequence[str]) -> LabelledTexts:
        """The same messages with other labels (one per message)."""
        if len(labels) != len(self.texts):
            raise ValueError(f"{len(labels)} labels for {len(self.texts)} messages")
        return replace(self, labels=list(labels))

    def __len__(self) -> int:
        return len(self.texts)


def read_labelled_csv(
    path: str | Path,
    *,
    text_columns: Sequence[str] = (TEXT_COLUMN,),
    label_column: str = LABEL_COLUMN,
    request_type_column: str | None = None,
) -> LabelledTexts:
    """Read a UTF-8 CSV; text columns are joined with a space; rows with empty text or label are dropped.

    The delimiter is a comma, or a tab or semicolon when the header names the columns only when split
    by it (a TSV export). With more than one text column, each row's own column texts are kept too
    (`column_texts`).
    """
    src = Path(path)
    if not src.is_file():
        raise DataFileError(f"data file not found: {src}")
    required = [*text_columns, label_column]
    try:
        with src.open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
            headers = {d: next(csv.reader([first], delimiter=d), []) for d in DELIMITERS}
            delimiter = next((d for d, names in headers.items() if set(required) <= set(names)), None)
            if delimiter is None:
                header = max(headers.values(), key=len)
                missing = [c for c in required if c not in header]
                raise DataFileError(f"{src}: missing column(s) {', '.join(missing)}; columns are {', '.join(header)}")
            fh.seek(0)
            reader = csv.DictReader(fh, delimiter=delimiter)
            header = reader.fieldnames or []
            use_rt = request_type_column is not None and request_type_column in header
            texts, labels, rts, columns = [], [], [], []
            for row in reader:
                parts = tuple((row.get(c) or "").strip() for c in text_columns)
                text = " ".join(parts).strip()
                label = (row.get(label_column) or "").strip()
                if not text or not label:
                    continue
                texts.append(text)
                labels.append(label)
                columns.append(parts)
                if use_rt:
                    rts.append((row.get(request_type_column) or "").strip())
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{src}: not UTF-8 text ({exc.reason}); save it as UTF-8 (from GBK: iconv -f GB18030 -t UTF-8)") from exc
    except csv.Error as exc:
        raise DataFileError(f"{src}: malformed CSV ({exc})") from exc
    if not texts:
        raise DataFileError(f"{src}: no rows with both text and label")
    several = len(text_columns) > 1
    return LabelledTexts(texts, labels, rts if use_rt else None, tuple(text_columns), columns if several else None)


def write_labelled_csv(path: str | Path, data: LabelledTexts) -> Path:
    """Write `TEXT...,label[,request_type]` rows (the format a department's data file has in simulation).

    The text columns are `data.text_columns`: one (`text` unless the data was read from another
    column), or each column the messages were read from, so the file reads back the same.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = data.column_texts if data.column_texts is not None else [(text,) for text in data.texts]
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        header = [*data.text_columns, LABEL_COLUMN] + ([REQUEST_TYPE_COLUMN] if data.request_types is not None else [])
        writer.writerow(header)
        for i, parts in enumerate(columns):
            row = [*parts, data.labels[i]]
            if data.request_types is not None:
                row.append(data.request_types[i])
            writer.writerow(row)
    return out


@dataclass(frozen=True)
class PartitionSpec:
    """How messages are spread over departments: `iid`, `dirichlet:ALPHA` or `by-label[:SHARE]`."""

    kind: str
    alpha: float = 0.5
    misrouted_share: float = 0.2


_SPEC = re.compile(r"^(iid|by-label(?::(?P<share>[0-9.]+))?|dirichlet:(?P<alpha>[0-9.]+))$")


def parse_partition(spec: str) -> PartitionSpec:
    """Parse a partition spec string (raises DataFileError naming the accepted forms)."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise DataFileError(f"unknown partition {spec!r}; use iid, by-label[:SHARE] or dirichlet:ALPHA")
    if spec.startswith("dirichlet"):
        alpha = float(m.group("alpha"))
        if alpha <= 0:
            raise DataFileError("dirichlet ALPHA must be > 0")
        return PartitionSpec("dirichlet", alpha=alpha)
    if spec.startswith("by-label"):
        share = float(m.group("share")) if m.group("share") else 0.2
        if not 0 <= share < 1:
            raise DataFileError("by-label SHARE must be in [0, 1)")
        return PartitionSpec("by-label", misrouted_share=share)
    return PartitionSpec("iid")


def partition_indices(labels: Sequence[str], num_departments: int, spec: PartitionSpec, *, seed: int = 0) -> list[np.ndarray]:
    """Assign every row to one department; returns each department's row indices (sorted).

    `by-label`: label j (sorted) belongs to department j mod N; a share of each label's rows goes to a
    random other department, as misrouted cases do. `dirichlet`: per label, department shares drawn
    from Dir(alpha). `iid`: uniform at random.
    """
    if num_departments < 1:
        raise DataFileError("the number of departments must be at least 1")
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    names = sorted(set(labels))
    owner = np.empty(len(y), dtype=np.int64)
    if spec.kind == "iid":
        owner[:] = rng.integers(0, num_departments, len(y))
    elif spec.kind == "by-label":
        for j, name in enumerate(names):
            rows = np.nonzero(y == name)[0]
            home = j % num_departments
            owner[rows] = home
            if num_departments > 1:
                moved = rows[rng.random(len(rows)) < spec.misrouted_share]
                others = [d for d in range(num_departments) if d != home]
                owner[moved] = rng.choice(others, len(moved))
    else:
        for name in names:
            rows = rng.permutation(np.nonzero(y == name)[0])
            shares = rng.dirichlet([spec.alpha] * num_departments)
            cuts = (np.cumsum(shares)[:-1] * len(rows)).round().astype(int)
            for d, part in enumerate(np.split(rows, cuts)):
                owner[part] = d
    return [np.sort(np.nonzero(owner == d)[0]) for d in range(num_departments)]


def stratified_split(labels: Sequence[str], *, test_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices into (train, test), keeping each label's share; labels with 1 row stay in train."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    train, test = [], []
    for name in sorted(set(labels)):
        rows = rng.permutation(np.nonzero(y == name)[0])
        k = int(round(len(rows) * test_fraction)) if len(rows) > 1 else 0
        test.extend(rows[:k])
        train.extend(rows[k:])
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(test, dtype=np.int64))
