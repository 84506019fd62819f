"""Audit trail: signed hash chain; verify detects edits, deletions and reordering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.audit import AuditError, append_entry, verify


@pytest.fixture()
def key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture()
def trail(tmp_path: Path, key: ed25519.Ed25519PrivateKey) -> Path:
    path = tmp_path / "audit.jsonl"
    for server_round in (1, 2, 3, 4):
        append_entry(
            path,
            signing_key=key,
            run_id="run-1",
            server_round=server_round,
            participants={"market": 120, "hukou": 80 + server_round},
            metrics={"accuracy": 0.5 + server_round / 10},
            model_sha256="ab" * 32 if server_round == 4 else None,
            created_at="2026-11-24T15:00:00+00:00",
        )
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_untouched_trail_verifies(trail: Path, key: ed25519.Ed25519PrivateKey) -> None:
    report = verify(trail, key.public_key())
    assert report.entries == 4
    assert report.runs == ["run-1"]
    assert report.head_hash == json.loads(_lines(trail)[-1])["hash"]


def test_edited_entry_is_detected(trail: Path, key: ed25519.Ed25519PrivateKey) -> None:
    lines = _lines(trail)
    entry = json.loads(lines[1])
    entry["participants"]["hukou"] = 999
    lines[1] = json.dumps(entry)
    _write(trail, lines)
    with pytest.raises(AuditError) as excinfo:
        verify(trail, key.public_key())
    assert (excinfo.value.code, excinfo.value.line) == ("audit_entry_modified", 2)


def test_edit_with_recomputed_hash_fails_the_signature(trail: Path, key: ed25519.Ed25519PrivateKey) -> None:
    import hashlib

    lines = _lines(trail)
    entry = json.loads(lines[-1])
    entry["metrics"]["accuracy"] = 0.99
    body = {k: entry[k] for k in ("seq", "run_id", "round", "participants", "metrics", "model_sha256", "created_at", "prev_hash")}
    entry["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    lines[-1] = json.dumps(entry)
    _write(trail, lines)
    with pytest.raises(AuditError) as excinfo:
        verify(trail, key.public_key())
    assert excinfo.value.code == "audit_signature_invalid"


def test_deleted_entry_is_detected(trail: Path, key: ed25519.Ed25519PrivateKey) -> None:
    lines = _lines(trail)
    del lines[1]
    _write(trail, lines)
    with pytest.raises(AuditError) as excinfo:
        verify(trail, key.public_key())
    assert excinfo.value.code == "audit_sequence_broken"


def test_reordered_entries_are_detected(trail: Path, key: ed25519.Ed25519PrivateKey) -> None:
    lines = _lines(trail)
    lines[1], lines[2] = lines[2], lines[1]
    _write(trail, lines)
    with pytest.raises(AuditError) as excinfo:
        verify(trail, key.public_key())
    assert excinfo.value.code == "audit_sequence_broken"
    assert excinfo.value.line == 2


def test_truncation_is_detected_against_a_pinned_head(trail: Path, key: ed25519.Ed25519PrivateKey) -> None:
    pinned = verify(trail, key.public_key()).head_hash
    _write(trail, _lines(trail)[:-1])
    assert verify(trail, key.public_key()).entries == 3
    with pytest.raises(AuditError) as excinfo:
        verify(trail, key.public_key(), expected_head=pinned)
    assert excinfo.value.code == "audit_truncated"


def test_other_key_fails(trail: Path) -> None:
    with pytest.raises(AuditError) as excinfo:
        verify(trail, ed25519.Ed25519PrivateKey.generate().public_key())
    assert excinfo.value.code == "audit_signature_invalid"


def test_appending_continues_the_chain(trail: Path, key: ed25519.Ed25519PrivateKey) -> None:
    entry = append_entry(
        trail,
        signing_key=key,
        run_id="run-2",
        server_round=1,
        participants={"market": 1},
        metrics={},
        model_sha256=None,
        created_at="2026-11-24T16:00:00+00:00",
    )
    assert entry.seq == 5
    assert verify(trail, key.public_key()).runs == ["run-1", "run-2"]


def test_concurrent_appends_keep_one_chain(tmp_path: Path, key: ed25519.Ed25519PrivateKey) -> None:
    import threading

    path = tmp_path / "audit.jsonl"

    def writer(run: str) -> None:
        for server_round in range(1, 6):
            append_entry(
                path,
                signing_key=key,
                run_id=run,
                server_round=server_round,
                participants={},
                metrics={},
                model_sha256=None,
                created_at="2026-11-24T15:00:00+00:00",
            )

    threads = [threading.Thread(target=writer, args=(f"run-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verify(path, key.public_key()).entries == 20
