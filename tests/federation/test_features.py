"""The hasher's feature settings: search-mode jieba words, the text cap, and how saved models keep theirs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from federation.model import FeatureHasher, IntentModel, document_frequencies, idf_weights, normalise_text, weight_features


def _trained(data, hasher: FeatureHasher) -> IntentModel:
    labels = tuple(sorted(set(data.labels)))
    model = IntentModel(labels=labels, hasher=hasher, loss="modified-huber")
    x = model.hasher.transform(data.texts)
    model.idf = idf_weights(document_frequencies(x), x.shape[0])
    model.fit(weight_features(x, model.idf), model.encode_labels(data.labels, labels), epochs=5, learning_rate=2.0, optimizer="sgd")
    return model


def test_search_segmentation_adds_the_sub_words_of_long_words():
    text = ["我想提取住房公积金"]
    search = FeatureHasher(n_buckets=2**16).transform(text)
    plain = FeatureHasher(n_buckets=2**16, segmentation="hmm").transform(text)
    assert FeatureHasher().segmentation == "search"
    assert set(plain.indices) < set(search.indices)  # 公积, 积金 beside 公积金


def test_search_words_are_jiebas_search_mode_without_hmm(synthetic_requests):
    """rjieba computes the `search` words; model files trained with jieba's own must featurise the same."""
    import jieba
    import rjieba

    tricky = ["住房公积金怎么提取", "Wi-Fi 密码 123456 忘了!!", "臺北市政府 1999 市民熱線", "😀 外卖超时了…", "", "   "]
    for text in [normalise_text(t) for t in synthetic_requests.texts[:300]] + tricky:
        assert rjieba.cut_for_search(text, False) == jieba.lcut_for_search(text, HMM=False)


def test_text_beyond_max_chars_is_ignored():
    hasher = FeatureHasher(n_buckets=2**12, max_chars=10)
    a = hasher.transform(["公积金提取需要哪些材料" + "噪音" * 50])
    b = hasher.transform(["公积金提取需要哪些材料"])
    assert FeatureHasher().max_chars == 1000
    assert (a != b).nnz == 0


def test_unknown_segmentation_is_refused():
    with pytest.raises(ValueError, match="segmentation"):
        FeatureHasher(segmentation="bigram")


def test_saved_hasher_settings_are_restored(tmp_path, three_topics):
    model = _trained(three_topics, FeatureHasher(n_buckets=2**12, max_chars=300, segmentation="hmm"))
    loaded = IntentModel.load(model.save(tmp_path))
    assert loaded.hasher == model.hasher
    assert np.array_equal(loaded.predict_proba(three_topics.texts), model.predict_proba(three_topics.texts))


def test_model_files_from_before_segmentation_load_and_predict_identically(tmp_path, three_topics):
    # The hasher as those files wrote it: four keys, jieba.lcut words, 600 characters.
    old = _trained(three_topics, FeatureHasher(n_buckets=2**12, max_chars=600, segmentation="hmm"))
    old.save(tmp_path)
    meta_path = tmp_path / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["hasher"] = {"n_buckets": 2**12, "max_ngram": 2, "use_words": True, "max_chars": 600}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    loaded = IntentModel.load(tmp_path)
    assert loaded.hasher.segmentation == "hmm"
    texts = [*three_topics.texts, "公积金贷款额度怎么算，住房公积金提取"]
    assert np.array_equal(loaded.predict_proba(texts), old.predict_proba(texts))
    assert [p.label for p in loaded.predict(texts)] == [p.label for p in old.predict(texts)]
