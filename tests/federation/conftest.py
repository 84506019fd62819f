"""Small labelled data sets shared by the federation tests."""

from __future__ import annotations

import pytest

from federation.data import LabelledTexts
from federation.synthetic import generate_requests


@pytest.fixture(scope="session")
def synthetic_requests() -> LabelledTexts:
    """A small seeded synthetic request set (all intents, request types, chit-chat)."""
    return generate_requests(seed=3, per_intent_and_type=6, chitchat=60)


@pytest.fixture(scope="session")
def three_topics() -> LabelledTexts:
    """Three clearly separable topics, 40 messages each."""
    texts, labels = [], []
    topics = {
        "wages": ["老板拖欠工资{}个月", "公司不发工资已经{}周", "工地欠薪{}次讨要无果"],
        "noise": ["工地夜间施工噪音{}点还在吵", "楼下装修噪音持续{}天", "广场舞噪音扰民{}个小时"],
        "fund": ["公积金提取需要{}份材料吗", "公积金贷款额度{}万怎么算", "公积金账户{}年没缴了"],
    }
    for label, templates in topics.items():
        for i in range(40):
            texts.append(templates[i % 3].format(i + 1))
            labels.append(label)
    return LabelledTexts(texts, labels)
