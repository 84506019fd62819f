"""The audited Grid records each round's global model hash; it reaches the signed trail and departments can recompute it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from federation.audit import append_rounds, arrays_sha256, build_recording_grid, verify
from federation.registry import read_rounds


@pytest.fixture(autouse=True)
def _task_identity(monkeypatch):
    """Messages stamp the running task's identity; set one as a ServerApp process would have."""
    for attr, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 1)):
        monkeypatch.setattr(TaskIdentity, attr, value)


class EchoGrid:
    """Two departments that answer every message (train: their arrays + 10 examples; evaluate: accuracy)."""

    def get_node_ids(self):
        return [7, 8]

    def send_and_receive(self, messages, *, timeout=None):
        replies = []
        for msg in messages:
            if msg.metadata.message_type == MessageType.TRAIN:
                content = RecordDict({"arrays": msg.content["arrays"], "metrics": MetricRecord({"num-examples": 10})})
            else:
                content = RecordDict({"metrics": MetricRecord({"num-examples": 5, "accuracy": 0.9})})
            replies.append(Message(content=content, reply_to=msg))
        return replies


def _round(grid, server_round: int, model: list[np.ndarray]) -> None:
    def messages(kind: str) -> list[Message]:
        content = RecordDict({"arrays": ArrayRecord(model), "config": ConfigRecord({"server-round": server_round})})
        return [Message(content=content, dst_node_id=node, message_type=kind) for node in (7, 8)]

    grid.send_and_receive(messages(MessageType.TRAIN))
    grid.send_and_receive(messages(MessageType.EVALUATE))


def test_round_model_hash_is_recorded_signed_and_recomputable(tmp_path: Path) -> None:
    models = {r: [np.full((3, 2), r, dtype=np.float32), np.arange(2, dtype=np.float32) * r] for r in (1, 2)}
    grid = build_recording_grid(EchoGrid(), tmp_path)
    for server_round, model in models.items():
        _round(grid, server_round, model)
    grid.flush()  # type: ignore[attr-defined]
    rounds = read_rounds(tmp_path, node_names={"7": "market", "8": "hukou"})
    assert [r.metrics["model_arrays_sha256"] for r in rounds] == [arrays_sha256(models[1]), arrays_sha256(models[2])]
    assert arrays_sha256(models[1]) != arrays_sha256([a.astype(np.float64) for a in models[1]])  # dtype is part of the hash

    key = ed25519.Ed25519PrivateKey.generate()
    trail = tmp_path / "audit.jsonl"
    entries = append_rounds(trail, signing_key=key, run_id="run-1", rounds=rounds, final_model_sha256="ab" * 32, created_at="2026-11-24T18:00:00+00:00")
    assert entries[0].metrics["model_arrays_sha256"] == arrays_sha256(models[1])
    assert verify(trail, key.public_key()).entries == 2
