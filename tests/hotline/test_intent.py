"""The hotline serves the promoted intent model and picks up a new promotion without a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from federation.registry import ModelRegistry
from hotline import create_app
from hotline.intent import bootstrap_intent_model
from hotline.settings import HotlineSettings


@pytest.fixture
def registry_dir(bootstrapped_registry: Path) -> Path:
    return bootstrapped_registry


def _route(client: TestClient, *texts: str) -> dict:
    token = client.get("/api/v1/me").json()["csrf_token"]
    response = client.post("/api/v1/intent", json={"texts": list(texts)}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.text
    return response.json()


def test_bootstrap_is_idempotent(registry_dir: Path) -> None:
    assert bootstrap_intent_model(registry_dir=registry_dir) == "intent model: v0001 already promoted"
    assert [v.version for v in ModelRegistry(registry_dir).versions()] == ["v0001"]


def test_routes_messages_to_departments(settings: HotlineSettings, registry_dir: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(registry_dir, registry)
    app = create_app(settings.model_copy(update={"intent_registry_dir": registry}))
    with TestClient(app) as client:
        body = _route(client, "我想开个体户，营业执照怎么办理", "公积金租房提取需要什么材料", "今天天气怎么样")
    assert body["model_version"] == "v0001"
    labels = [item["department"] for item in body["items"]]
    assert labels[0] == "市场监督管理局"
    assert labels[1] == "住房公积金管理中心"
    assert body["items"][2]["out_of_scope"] is True
    assert all(0.0 <= item["score"] <= 1.0 for item in body["items"])


def test_promotion_reloads_without_restart(settings: HotlineSettings, registry_dir: Path, tmp_path: Path) -> None:
    registry_path = tmp_path / "registry"
    shutil.copytree(registry_dir, registry_path)
    app = create_app(settings.model_copy(update={"intent_registry_dir": registry_path}))
    with TestClient(app) as client:
        assert _route(client, "换身份证")["model_version"] == "v0001"
        registry = ModelRegistry(registry_path)
        candidate = registry.register(model_dir=registry.get("v0001").path, run_id="retrained")
        registry.promote(candidate.version)
        assert _route(client, "换身份证")["model_version"] == "v0002"


def test_no_promoted_model_is_a_stable_503(client: TestClient) -> None:
    token = client.get("/api/v1/me").json()["csrf_token"]
    response = client.post("/api/v1/intent", json={"texts": ["换身份证"]}, headers={"X-CSRFToken": token})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "intent_model_unavailable"


def test_empty_batch_is_rejected(client: TestClient) -> None:
    token = client.get("/api/v1/me").json()["csrf_token"]
    response = client.post("/api/v1/intent", json={"texts": []}, headers={"X-CSRFToken": token})
    assert response.status_code == 422
