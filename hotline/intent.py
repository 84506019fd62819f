"""Intent routing in the hotline: the promoted federated model, reloaded on promotion without a restart."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from federation import IntentModel, Prediction, bootstrap_model
from federation.registry import ModelRegistry, PromotedModelWatcher
from hotline.errors import HotlineError


class IntentModelUnavailable(HotlineError):
    """No model has been promoted yet (run `hotline setup` or promote a federated run)."""

    code = "intent_model_unavailable"
    status_code = 503


class IntentRouter:
    """Routes citizen messages with whichever model the registry has promoted."""

    def __init__(self, registry_dir: Path) -> None:
        self._watcher: PromotedModelWatcher[IntentModel] = PromotedModelWatcher(registry_dir, IntentModel.load)

    @property
    def version(self) -> str | None:
        """The registry version currently served, if any."""
        return self._watcher.version

    def route(self, texts: list[str]) -> tuple[str, list[Prediction]]:
        """Predict department, request type and scope for each text, with the serving model's version."""
        model = self._watcher.current()
        if model is None:
            raise IntentModelUnavailable("意图模型尚未发布，请先运行 hotline setup / no intent model has been promoted")
        return str(self._watcher.version), model.predict(texts)


def bootstrap_intent_model(*, registry_dir: Path, seed: int = 0) -> str:
    """Train, register and promote the synthetic bootstrap model unless a model is already promoted."""
    registry = ModelRegistry(registry_dir)
    promoted = registry.promoted_version()
    if promoted is not None:
        return f"intent model: {promoted.version} already promoted"
    with tempfile.TemporaryDirectory() as work:
        model_dir = Path(work)
        model = bootstrap_model(model_dir, seed=seed)
        metrics = {"strategy": "bootstrap-centralised", "num_rounds": 0, "per_department": {}, **model.metadata}
        (model_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False), encoding="utf-8")
        version = registry.register(model_dir=model_dir, run_id="bootstrap")
    registry.promote(version.version)
    return f"intent model: bootstrap {version.version} trained and promoted"
