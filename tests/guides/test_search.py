"""Search: tokenisation, ranking of citizens' paraphrased questions, and the real items."""

from __future__ import annotations

import pytest

from guides import ServiceIndex, derived_query, tokenize, top_k_hit_rate
from guides.search import BIGRAM_PREFIX


def test_query_set_is_large_and_covers_the_catalog(search_cases, demo_catalog):
    assert len(search_cases) >= 60
    codes = {service.code for service in demo_catalog}
    assert {code for _, code in search_cases} == codes
    names = {service.name for service in demo_catalog}
    assert not any(query in names for query, _ in search_cases)


def test_top3_hit_rate_on_citizen_queries(demo_index, search_cases):
    assert top_k_hit_rate(demo_index, search_cases, k=3) >= 0.85


def test_citizen_queries_among_all_real_items(demo_catalog, real_outcomes, search_cases):
    """The demo services still rank top-3 when 1,578 real provincial items compete with them."""
    index = ServiceIndex([*demo_catalog, *(outcome.service for outcome in real_outcomes)])
    assert top_k_hit_rate(index, search_cases, k=3) >= 0.85


def test_query_bigrams_skip_stopwords():
    tokens = tokenize("想当老师要办什么证", query=True)
    assert BIGRAM_PREFIX + "老师" in tokens and BIGRAM_PREFIX + "什么" not in tokens
    assert BIGRAM_PREFIX + "什么" in tokenize("想当老师要办什么证")


def test_example_questions(demo_index):
    assert demo_index.search("我想开个小饭馆要办什么", limit=3)[0].service.code == "scjg-spjy-xk"
    assert "scjg-gtgsh-sl" in [hit.service.code for hit in demo_index.search("营业执照怎么办", limit=3)]
    assert demo_index.search("提公积金交房租")[0].service.code == "zfgjj-tq-zf"


def test_hits_are_sorted_limited_and_empty_when_nothing_matches(demo_index):
    hits = demo_index.search("身份证", limit=5)
    assert 0 < len(hits) <= 5
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert demo_index.search("qwertyuiop") == []
    assert demo_index.search("   ") == []
    with pytest.raises(ValueError, match="limit"):
        demo_index.search("身份证", limit=0)
    assert ServiceIndex([]).search("身份证") == []


def test_tokenize_drops_stopwords_adds_bigrams_and_normalises():
    tokens = tokenize("我想問一下營業執照怎麼辦", query=True)
    assert "营业执照" in tokens and "我" not in tokens and "怎么" not in tokens
    assert BIGRAM_PREFIX + "执照" in tokens
    assert tokenize("ＡＢＣ１２３") == ["abc123"]
    assert "驾驶证" in tokenize("驾照到期", query=True)
    assert "驾驶证" not in tokenize("驾照到期")


def test_real_items_derived_queries(real_outcomes):
    """Queries derived from real items by the documented procedure, never equal to the item's name."""
    services = [outcome.service for outcome in real_outcomes]
    cases = [(derived_query(service), service.code) for service in services]
    copied = [service.name for (query, _), service in zip(cases, services, strict=True) if query[1:-6] == service.name]
    assert len(copied) <= 5, copied
    assert derived_query(services[0]).startswith("办") and derived_query(services[0]).endswith("需要什么材料")
    assert top_k_hit_rate(ServiceIndex(services), cases, k=3) >= 0.75


def test_words_are_jiebas_without_hmm(demo_catalog, search_cases):
    """rjieba segments; an index or a derived query must split text exactly as jieba's own tokenizer."""
    import jieba
    import rjieba

    from guides.search import normalise

    tokenizer = jieba.Tokenizer()
    texts = [normalise(query) for query, _ in search_cases]
    texts += [normalise(f"{service.name} {' '.join(service.aliases)}") for service in demo_catalog]
    texts += ["wi-fi 密码 123456", "臺北市政府 1999", ""]
    for text in texts:
        assert rjieba.cut(text, False) == tokenizer.lcut(text, HMM=False)
        for word in rjieba.cut(text, False):
            assert rjieba.cut_for_search(word, False) == list(tokenizer.cut_for_search(word, HMM=False))
