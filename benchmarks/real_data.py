"""The real citizen messages the federation benchmarks share, and their stratified held-out split."""

from __future__ import annotations

import csv
from pathlib import Path

from federation.data import LabelledTexts, read_labelled_csv, stratified_split, write_labelled_csv

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_zhihu() -> LabelledTexts:
    """The real citizen messages (title + detail → first-level topic)."""
    return read_labelled_csv(DATA / "zhihuizhengwu_message_classification" / "messages.csv", text_columns=["title", "detail"], label_column="label")


def load_smp2017() -> tuple[list[str], list[str]]:
    """SMP2017 assistant queries: the `chat` utterances (chit-chat) and all the other domains' ones."""
    with (DATA / "smp2017_ecdt_intent" / "smp2017_ecdt_task1_train_dev.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r["Sentence"] for r in rows if r["Tag"] == "chat"], [r["Sentence"] for r in rows if r["Tag"] != "chat"]


def held_out_split(data: LabelledTexts, *, seed: int, test_csv: Path) -> tuple[LabelledTexts, LabelledTexts, Path]:
    """A stratified 80/20 split; the test part is also written to `test_csv` for the server's evaluation."""
    train_idx, test_idx = stratified_split(data.labels, test_fraction=0.2, seed=seed)
    train, test = data.subset(train_idx), data.subset(test_idx)
    return train, test, write_labelled_csv(test_csv, test)
