"""Model registry: versions, guarded promotion, atomic pointer and hot reload."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from federation.registry import ModelRegistry, PromotedModelWatcher, PromotionRefused, RegistryError, read_rounds


def _run_output(root: Path, name: str, scores: dict[str, float], *, epsilon: float | None = None) -> Path:
    """A run's output directory as the ServerApp writes it (node ids in rounds.jsonl)."""
    out = root / name
    out.mkdir(parents=True)
    (out / "model.npz").write_bytes(name.encode() * 10)
    (out / "model.json").write_text(json.dumps({"labels": ["a", "b"]}), encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps({"run_id": name, "strategy": "classwise", "num_rounds": 2}), encoding="utf-8")
    lines = []
    for server_round in (1, 2):
        node_metrics = {str(100 + i): {"macro-f1": s, "accuracy": s} for i, s in enumerate(scores.values())}
        lines.append(json.dumps({
            "run_id": name,
            "server_round": server_round,
            "model_out_dir": str(out),
            "metrics": {"central": {}, "participants": {str(100 + i): 50 + i for i in range(len(scores))}, "node_metrics": node_metrics},
            "final": False,
        }))
    (out / "rounds.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if epsilon:
        grid = {"server_round": 2, "participants": {"100": 60, "101": 61}, "epsilon": {"100": epsilon, "101": epsilon}, "failed": ["102"]}
        (out / "grid_rounds.jsonl").write_text(json.dumps(grid) + "\n", encoding="utf-8")
    return out


NAMES = {"100": "market", "101": "hukou", "102": "social"}


def test_register_versions_with_manifest(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    v1 = registry.register(model_dir=_run_output(tmp_path, "run1", {"m": 0.8, "h": 0.7}, epsilon=2.5), node_names=NAMES, code="git:abc")
    v2 = registry.register(model_dir=_run_output(tmp_path, "run2", {"m": 0.8, "h": 0.7}), node_names=NAMES, code="git:abc")
    assert [v.version for v in registry.versions()] == ["v0001", "v0002"]
    manifest = json.loads((v1.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data_sizes"] == {"market": 60, "hukou": 61}
    assert read_rounds(v1.path, node_names=NAMES)[1].metrics["failed_nodes"] == ["social"]
    assert manifest["department_metrics"]["hukou"]["macro-f1"] == 0.7
    assert manifest["epsilon"] == {"market": 2.5, "hukou": 2.5}
    assert manifest["strategy"] == "classwise" and manifest["code_version"] == "git:abc"
    assert manifest["num_rounds"] == 2 and len(manifest["model_sha256"]) == 64
    assert {"model.npz", "model.json", "metrics.json", "rounds.jsonl"} <= set(manifest["files"])
    assert v1.model_sha256 != v2.model_sha256
    assert registry.promoted() is None


def test_promotion_blocked_when_one_department_regresses(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    registry.register(model_dir=_run_output(tmp_path, "r1", {"m": 0.80, "h": 0.70, "s": 0.90}), node_names=NAMES)
    registry.register(model_dir=_run_output(tmp_path, "r2", {"m": 0.95, "h": 0.66, "s": 0.95}), node_names=NAMES)
    registry.register(model_dir=_run_output(tmp_path, "r3", {"m": 0.82, "h": 0.69, "s": 0.89}), node_names=NAMES)
    assert registry.promote("v0001", margin=0.02).allowed
    assert registry.promoted() == registry.get("v0001").path
    with pytest.raises(PromotionRefused) as excinfo:
        registry.promote("v0002", margin=0.02)
    assert [r.department_id for r in excinfo.value.decision.regressions] == ["hukou"]
    assert excinfo.value.code == "promotion_regression"
    assert registry.promoted_version().version == "v0001"
    assert registry.promote("v0003", margin=0.02).baseline == "v0001"
    assert registry.promoted_version().version == "v0003"
    forced = registry.promote("v0002", margin=0.0, force=True)
    assert not forced.allowed
    assert json.loads(registry.pointer_path.read_text(encoding="utf-8"))["forced"] is True


def test_missing_department_blocks_and_unknown_version_errors(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    registry.register(model_dir=_run_output(tmp_path, "r1", {"m": 0.8, "h": 0.7}), node_names=NAMES)
    registry.register(model_dir=_run_output(tmp_path, "r2", {"m": 0.9}), node_names=NAMES)
    registry.promote("v0001")
    decision = registry.check_promotion("v0002")
    assert [(r.department_id, r.candidate_value) for r in decision.regressions] == [("hukou", None)]
    with pytest.raises(RegistryError) as excinfo:
        registry.get("v0099")
    assert excinfo.value.code == "version_not_found"
    with pytest.raises(RegistryError):
        registry.register(model_dir=tmp_path / "nowhere")


def test_read_rounds_rejects_garbage(tmp_path: Path) -> None:
    out = _run_output(tmp_path, "r1", {"m": 0.8})
    (out / "rounds.jsonl").write_text('{"server_round": 1}\nnot json\n', encoding="utf-8")
    with pytest.raises(RegistryError) as excinfo:
        read_rounds(out)
    assert excinfo.value.code == "rounds_file_invalid" and ":2:" in str(excinfo.value)


def test_watcher_reloads_on_promotion_and_is_thread_safe(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    for name in ("r1", "r2"):
        registry.register(model_dir=_run_output(tmp_path, name, {"m": 0.8}), node_names=NAMES)
    loads: list[Path] = []

    def loader(path: Path) -> str:
        loads.append(path)
        return (path / "model.npz").read_bytes()[:2].decode()

    watcher = PromotedModelWatcher(tmp_path / "registry", loader)
    assert watcher.current() is None
    registry.promote("v0001")
    results: list[str | None] = []
    threads = [threading.Thread(target=lambda: results.append(watcher.current())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) == {"r1"} and len(loads) == 1
    assert watcher.current() == "r1" and len(loads) == 1
    registry.promote("v0002")
    assert watcher.current() == "r2" and watcher.version == "v0002"


def test_watcher_keeps_old_model_when_new_one_fails(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    for name in ("r1", "r2"):
        registry.register(model_dir=_run_output(tmp_path, name, {"m": 0.8}), node_names=NAMES)
    registry.promote("v0001")

    def loader(path: Path) -> str:
        if path.name == "v0002":
            raise ValueError("corrupt model")
        return path.name

    watcher = PromotedModelWatcher(tmp_path / "registry", loader)
    assert watcher.current() == "v0001"
    registry.promote("v0002")
    assert watcher.current() == "v0001"
    assert isinstance(watcher.last_error, ValueError)


def test_watcher_serves_the_product_model_format(tmp_path: Path) -> None:
    from federation.model import IntentModel
    from federation.task import TaskConfig

    registry = ModelRegistry(tmp_path / "registry")
    for name in ("r1", "r2"):
        out = _run_output(tmp_path, name, {"m": 0.8})
        for stale in ("model.npz", "model.json"):
            (out / stale).unlink()
        model = TaskConfig.from_run_config({"n-buckets": 1024}).new_model()
        model.metadata = {"run_id": name}
        model.save(out)
        registry.register(model_dir=out, node_names=NAMES)
    watcher = PromotedModelWatcher(tmp_path / "registry", IntentModel.load)
    registry.promote("v0001")
    first = watcher.current()
    assert first is not None and first.metadata["run_id"] == "r1"
    assert len(first.predict(["我想问一下公积金怎么提取"])) == 1
    registry.promote("v0002")
    assert watcher.current().metadata["run_id"] == "r2"
