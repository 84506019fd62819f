"""The seeded synthetic generator and the bootstrap model."""

from __future__ import annotations

from collections import Counter

from federation.model import OUT_OF_SCOPE, IntentModel
from federation.synthetic import bootstrap_model, department_partitions, generate_requests
from federation.taxonomy import DEPARTMENTS, INTENTS, REQUEST_TYPES, department_of, intent_labels


def test_generator_is_seeded_and_covers_every_intent_and_type():
    a = generate_requests(seed=5, per_intent_and_type=4, chitchat=20)
    b = generate_requests(seed=5, per_intent_and_type=4, chitchat=20)
    c = generate_requests(seed=6, per_intent_and_type=4, chitchat=20)
    assert a == b and a.texts != c.texts
    pairs = Counter(zip(a.labels, a.request_types, strict=True))
    assert all(pairs[(i.code, t)] == 4 for i in INTENTS for t in REQUEST_TYPES)
    assert Counter(a.labels)[OUT_OF_SCOPE] == 20
    assert len(set(a.texts)) > 0.95 * len(a.texts)


def test_bootstrap_model_routes_clear_requests(tmp_path):
    bootstrap_model(tmp_path, seed=0)
    model = IntentModel.load(tmp_path)
    assert model.labels == intent_labels()
    preds = model.predict(["请问住房公积金怎么提取", "公司拖欠我三个月工资", "今天天气怎么样", "我要举报超市卖过期食品"])
    assert preds[0].department == "住房公积金管理中心" and not preds[0].out_of_scope
    assert preds[1].department == "人力资源和社会保障局"
    assert preds[2].out_of_scope and preds[2].department is None
    assert preds[3].department == "市场监督管理局" and preds[3].request_type == "举报"
    assert model.metadata["heldout_macro_f1"] > 0.9


def test_departments_hold_their_own_intents_and_a_misrouted_share():
    data = generate_requests(seed=1, per_intent_and_type=10, chitchat=50)
    parts = department_partitions(data, misrouted_share=0.2, seed=1)
    assert len(parts) == len(DEPARTMENTS) and sum(len(p) for p in parts) == len(data)
    owner = department_of()
    for dept, part in zip(DEPARTMENTS, parts, strict=True):
        own = sum(owner.get(label) == dept for label in part.labels)
        chat = sum(label == OUT_OF_SCOPE for label in part.labels)
        assert 0.6 < own / (len(part) - chat) < 0.95 and chat > 0
