"""Signed, append-only round audit trail: a hash-chained JSONL file signed with the SuperLink's Ed25519 key.

Each line is one round: run id, round, participants with sample counts, metrics, the SHA-256 of
the model, the previous entry's hash and a signature over the canonical entry. Any department
holding the public key can run `verify` and detect edited, deleted or reordered entries.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

__all__ = [
    "GENESIS_HASH",
    "GRID_ROUNDS_FILE",
    "build_audited_server_app",
    "build_recording_grid",
    "AuditEntry",
    "AuditError",
    "VerifyReport",
    "append_entry",
    "append_rounds",
    "arrays_sha256",
    "verify",
]

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first entry."""

_SIGNED_FIELDS = ("seq", "run_id", "round", "participants", "metrics", "model_sha256", "created_at", "prev_hash")


class AuditError(ValueError):
    """The audit trail is unreadable or fails verification; `code` is a stable snake_case string."""

    def __init__(self, code: str, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.line = line


@dataclass(frozen=True)
class AuditEntry:
    """One round of one run, as recorded in the trail."""

    seq: int
    run_id: str
    round: int
    participants: dict[str, int]
    metrics: dict[str, object]
    model_sha256: str | None
    created_at: str
    prev_hash: str


def _canonical(body: Mapping[str, object]) -> bytes:
    return json.dumps({k: body[k] for k in _SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _entry_hash(body: Mapping[str, object]) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


def _read_lines(trail_path: Path) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    if not trail_path.exists():
        return entries
    for line_no, line in enumerate(trail_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            raise AuditError("audit_blank_line", f"第 {line_no} 行为空 blank line {line_no}", line=line_no)
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise AuditError("audit_line_invalid", f"第 {line_no} 行不是 JSON line {line_no} is not JSON: {exc}", line=line_no) from exc
        if not isinstance(value, dict) or any(k not in value for k in (*_SIGNED_FIELDS, "hash", "signature")):
            raise AuditError("audit_line_invalid", f"第 {line_no} 行缺少字段 line {line_no} lacks audit fields", line=line_no)
        entries.append(value)
    return entries


def append_entry(
    trail_path: Path,
    *,
    signing_key: ed25519.Ed25519PrivateKey,
    run_id: str,
    server_round: int,
    participants: Mapping[str, int],
    metrics: Mapping[str, object],
    model_sha256: str | None,
    created_at: str,
) -> AuditEntry:
    """Append one signed, chained entry; the chain head is read from the file's last line.

    Writers on the SuperLink host are serialised with an exclusive lock on `<trail>.lock`;
    the line is appended and fsync'ed.
    """
    trail_path.parent.mkdir(parents=True, exist_ok=True)
    with open(trail_path.with_name(trail_path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = _read_lines(trail_path)
        prev_hash = str(existing[-1]["hash"]) if existing else GENESIS_HASH
        seq = int(existing[-1]["seq"]) + 1 if existing else 1  # type: ignore[call-overload]
        body: dict[str, object] = {
            "seq": seq,
            "run_id": str(run_id),
            "round": int(server_round),
            "participants": {str(k): int(v) for k, v in sorted(participants.items())},
            "metrics": json.loads(json.dumps(dict(metrics), default=float)),
            "model_sha256": model_sha256,
            "created_at": created_at,
            "prev_hash": prev_hash,
        }
        digest = _entry_hash(body)
        signature = signing_key.sign(bytes.fromhex(digest))
        line = {**body, "hash": digest, "signature": base64.b64encode(signature).decode()}
        with open(trail_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return AuditEntry(**{k: body[k] for k in _SIGNED_FIELDS})  # type: ignore[arg-type]


def append_rounds(
    trail_path: Path,
    *,
    signing_key: ed25519.Ed25519PrivateKey,
    run_id: str,
    rounds: Sequence[object],
    final_model_sha256: str,
    created_at: str,
) -> list[AuditEntry]:
    """Append one entry per round of a finished run (objects with `server_round`, `participants`, `metrics`).

    Only the final model's files exist after a run, so its SHA-256 goes on the last round's
    entry; earlier rounds record None.
    """
    entries = []
    for index, record in enumerate(rounds):
        is_last = index == len(rounds) - 1
        entries.append(
            append_entry(
                trail_path,
                signing_key=signing_key,
                run_id=run_id,
                server_round=int(record.server_round),  # type: ignore[attr-defined]
                participants=record.participants,  # type: ignore[attr-defined]
                metrics={**record.metrics, "node_metrics": record.node_metrics, "epsilon": record.epsilon},  # type: ignore[attr-defined]
                model_sha256=final_model_sha256 if is_last else None,
                created_at=created_at,
            )
        )
    return entries


@dataclass(frozen=True)
class VerifyReport:
    """A trail that verified: how many entries, and the head hash departments can pin."""

    entries: int
    head_hash: str
    runs: list[str]


def verify(trail_path: Path, public_key: ed25519.Ed25519PublicKey, *, expected_head: str | None = None) -> VerifyReport:
    """Verify every entry's signature, hash, sequence number and link to the previous entry.

    Detects edits (hash or signature mismatch), deletions and reordering (sequence gap or broken
    chain). Deleting the newest entries leaves a valid shorter chain: pass the head hash a
    department recorded earlier as `expected_head` (or compare `VerifyReport.entries`) to catch
    truncation. Raises `AuditError` with the first failing line.
    """
    if not trail_path.is_file():
        raise AuditError("audit_trail_missing", f"审计记录不存在 audit trail not found: {trail_path}")
    entries = _read_lines(trail_path)
    prev_hash = GENESIS_HASH
    runs: list[str] = []
    seen_heads: set[str] = set()
    for line_no, entry in enumerate(entries, start=1):
        if entry["seq"] != line_no:
            raise AuditError(
                "audit_sequence_broken",
                f"第 {line_no} 行序号为 {entry['seq']} line {line_no} has seq {entry['seq']} (entry deleted or reordered)",
                line=line_no,
            )
        if entry["prev_hash"] != prev_hash:
            raise AuditError(
                "audit_chain_broken",
                f"第 {line_no} 行未链接上一条 line {line_no} does not link to the previous entry",
                line=line_no,
            )
        digest = _entry_hash(entry)
        if digest != entry["hash"]:
            raise AuditError("audit_entry_modified", f"第 {line_no} 行内容被修改 line {line_no} was modified", line=line_no)
        try:
            public_key.verify(base64.b64decode(str(entry["signature"])), bytes.fromhex(digest))
        except (InvalidSignature, ValueError) as exc:
            raise AuditError("audit_signature_invalid", f"第 {line_no} 行签名无效 line {line_no} has an invalid signature", line=line_no) from exc
        prev_hash = digest
        seen_heads.add(digest)
        if entry["run_id"] not in runs:
            runs.append(str(entry["run_id"]))
    if expected_head is not None and expected_head not in seen_heads:
        raise AuditError(
            "audit_truncated",
            f"审计记录中找不到已知的链头 known head {expected_head[:12]}… not in the trail (entries removed)",
        )
    return VerifyReport(entries=len(entries), head_hash=prev_hash, runs=runs)


GRID_ROUNDS_FILE = "grid_rounds.jsonl"
"""What the SuperLink's Grid actually delivered per round (written into the run's model-out-dir)."""


def _scalar_metrics(message: object) -> dict[str, float]:
    records = list(message.content.metric_records.values())  # type: ignore[attr-defined]
    if not records:
        return {}
    return {k: float(v) for k, v in records[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def arrays_sha256(arrays: Sequence[object]) -> str:
    """SHA-256 over parameter arrays in order: each one's dtype, shape and C-order bytes.

    The audited ServerApp records it for the global model it sends out for evaluation after each
    round; a department recomputes it from the arrays it received (`federation.audit.arrays_sha256`).
    """
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        a = np.ascontiguousarray(array)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _message_arrays(message: object) -> list[object]:
    return [array.numpy() for record in message.content.array_records.values() for array in record.values()]  # type: ignore[attr-defined]


def build_recording_grid(inner: object, out_dir: Path) -> object:
    """Wrap a Flower Grid so every round's replies are logged to `out_dir/grid_rounds.jsonl`.

    The log is taken from the messages the SuperLink delivered (source node ids, the
    `num-examples` and cumulative DP `epsilon` each department reported, its evaluation
    metrics) and the global model sent out for evaluation (`model_arrays_sha256`), independent of
    what the strategy code chooses to report. Imports Flower lazily (verifiers need no Flower).
    """
    from flwr.serverapp import Grid

    class RecordingGrid(Grid):
        """A Grid proxy that records replies per round."""

        def __init__(self) -> None:
            self._inner = inner
            self._round = 0
            self._current: dict[str, object] = {}

        def set_run(self, run):  # type: ignore[no-untyped-def]
            return self._inner.set_run(run)  # type: ignore[attr-defined]

        @property
        def run(self):  # type: ignore[no-untyped-def]
            return self._inner.run  # type: ignore[attr-defined]

        def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):  # type: ignore[no-untyped-def]
            return self._inner.create_message(content, message_type, dst_node_id, group_id, ttl)  # type: ignore[attr-defined]

        def get_node_ids(self):  # type: ignore[no-untyped-def]
            return self._inner.get_node_ids()  # type: ignore[attr-defined]

        def get_nodes(self):  # type: ignore[no-untyped-def]
            return self._inner.get_nodes()  # type: ignore[attr-defined]

        def push_messages(self, messages):  # type: ignore[no-untyped-def]
            return self._inner.push_messages(messages)  # type: ignore[attr-defined]

        def pull_messages(self, message_ids):  # type: ignore[no-untyped-def]
            return self._inner.pull_messages(message_ids)  # type: ignore[attr-defined]

        def send_and_receive(self, messages, *, timeout=None):  # type: ignore[no-untyped-def]
            outgoing = list(messages)
            replies = list(self._inner.send_and_receive(outgoing, timeout=timeout))  # type: ignore[attr-defined]
            kind = outgoing[0].metadata.message_type.split(".")[0] if outgoing else ""
            # SecAgg+ sends four train-type stages per round; only the one carrying the model starts a round.
            if kind == "train" and outgoing[0].content.array_records:
                self._flush()
                self._round = _server_round(outgoing) or self._round + 1
                self._current = {"server_round": self._round, "participants": {}, "node_metrics": {}, "epsilon": {}, "failed": []}
                for reply in replies:
                    node = str(reply.metadata.src_node_id)
                    if reply.has_error():
                        self._current["failed"].append(node)  # type: ignore[attr-defined]
                        continue
                    sent = _scalar_metrics(reply)
                    self._current["participants"][node] = int(sent.get("num-examples", 0))  # type: ignore[index]
                    if "epsilon" in sent:
                        self._current["epsilon"][node] = sent["epsilon"]  # type: ignore[index]
            elif kind == "evaluate" and self._current:
                if outgoing and outgoing[0].content.array_records:
                    self._current["model_arrays_sha256"] = arrays_sha256(_message_arrays(outgoing[0]))
                for reply in replies:
                    if not reply.has_error():
                        self._current["node_metrics"][str(reply.metadata.src_node_id)] = _scalar_metrics(reply)  # type: ignore[index]
                self._flush()
            return replies

        def flush(self) -> None:
            """Write the round in progress (the last round may have no evaluation phase)."""
            self._flush()

        def _flush(self) -> None:
            if not self._current:
                return
            out_dir.mkdir(parents=True, exist_ok=True)
            with open(out_dir / GRID_ROUNDS_FILE, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(self._current, sort_keys=True) + "\n")
            self._current = {}

    return RecordingGrid()


def _server_round(messages: Sequence[object]) -> int | None:
    for record in messages[0].content.config_records.values():  # type: ignore[attr-defined]
        if "server-round" in record:
            return int(record["server-round"])
    return None


def build_audited_server_app(inner_spec: str) -> object:
    """A ServerApp that runs `inner_spec` ("module:attr") on a recording Grid (see `build_recording_grid`)."""
    import importlib

    from flwr.serverapp import ServerApp

    module_name, _, attr = inner_spec.partition(":")
    app = ServerApp()

    @app.main()
    def main(grid, context):  # type: ignore[no-untyped-def]
        inner = getattr(importlib.import_module(module_name), attr)
        out_dir = Path(str(context.run_config.get("model-out-dir") or "federation-model"))
        recording = build_recording_grid(grid, out_dir)
        try:
            inner(recording, context)
        finally:
            recording.flush()  # type: ignore[attr-defined]

    return app
