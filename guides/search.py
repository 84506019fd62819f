"""Find services from what a citizen types: Chinese word segmentation plus character bigrams, ranked by BM25."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import rjieba
from opencc import OpenCC

from guides.schema import Service

# Words that carry no topic in a citizen's question ("我想问一下要办什么").
STOPWORDS = frozenset(
    "我 我们 你 你们 想 要 想要 需要 需 请问 请 问 问一下 一下 怎么 怎么样 怎样 如何 什么 哪些 哪里 哪儿 在哪 在哪里 去 到 "
    "办 办理 办个 弄 搞 个 一个 的 了 吗 呢 啊 吧 呀 么 和 与 及 或 是 有 没有 能 能不能 可以 可不 还 就 都 也 该 应该 "
    "手续 流程 材料 资料 东西 带 准备 多久 多长时间 时间 几天 怎么办 咋办 咋 这个 那个 现在 已经 自己 家里 给 让 把 被 "
    "吗？ 呢？ 一 下 啥 哪个 部门 找 谁 地方".split()
)

# What citizens say → words the catalog uses; appended to the query, never replacing it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "饭馆": ("餐饮", "饭店", "食品经营"),
    "饭店": ("餐饮", "食品经营"),
    "餐馆": ("餐饮", "食品经营"),
    "小吃": ("食品经营",),
    "奶茶": ("食品经营",),
    "执照": ("营业执照",),
    "驾照": ("驾驶证",),
    "社保": ("社会保险", "社会保障"),
    "医保": ("医疗保障", "医疗保险"),
    "低保": ("最低生活保障",),
    "公租房": ("公共租赁住房",),
    "房租": ("租房",),
    "违章": ("违法",),
    "罚单": ("违法", "罚款"),
    "准生证": ("生育登记",),
    "教资": ("教师资格",),
    "老师": ("教师",),
    "孩子": ("儿童", "子女"),
    "小孩": ("儿童", "子女"),
    "上学": ("入学",),
    "读书": ("入学",),
    "丢了": ("补领", "补发", "遗失"),
    "丢失": ("补领", "补发", "遗失"),
    "不见了": ("补领", "补发", "遗失"),
    "过期": ("换领", "换证", "有效期满"),
    "到期": ("换领", "换证", "有效期满"),
    "失业": ("失业保险",),
    "结婚": ("结婚登记",),
    "落户": ("户口迁入",),
    "看病": ("就医",),
    "慢性病": ("慢特病",),
}

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[\u3400-\u9fff]|[a-z0-9]+")
BIGRAM_PREFIX = "②"


@cache
def _converter() -> OpenCC:
    return OpenCC("t2s")


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, traditional to simplified characters."""
    return _converter().convert(unicodedata.normalize("NFKC", text).lower())


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """Search tokens: jieba words (search mode, no HMM, stopwords dropped; computed by rjieba, jieba's Rust
    port with the same dictionary and tokens) plus CJK character bigrams.

    For a query, synonyms are appended and bigrams are taken only inside the runs of text between stopwords,
    so "要办什么证" adds no "什么" or "么证"; documents keep every bigram.
    """
    clean = normalise(text)
    words: list[str] = []
    runs: list[str] = [""]
    for segment in rjieba.cut(clean, False):
        if segment in STOPWORDS or not _WORD.match(segment):
            runs.append("")
            continue
        runs[-1] += segment
        words.extend(part for part in rjieba.cut_for_search(segment, False) if part.strip())
    if query:
        synonyms = [synonym for word in words for synonym in SYNONYMS.get(word, ())]
        words += [part for synonym in synonyms for part in rjieba.cut_for_search(synonym, False)]
        runs += synonyms
    else:
        runs = [clean]
    bigrams = [
        BIGRAM_PREFIX + chunk[i : i + 2]
        for run in runs
        for chunk in _CJK_RUN.findall(run)
        for i in range(len(chunk) - 1)
    ]
    tokens = words + bigrams
    return list(dict.fromkeys(tokens)) if query else tokens


@dataclass(frozen=True)
class SearchHit:
    """One ranked search result."""

    service: Service
    score: float


def service_text(service: Service) -> list[str]:
    """The text of a service that search looks at, name and aliases weighted above the rest."""
    return [
        *([service.name] * 4),
        *[alias for alias in service.aliases for _ in range(3)],
        service.department,
        *[material.name for material in service.materials],
        *service.applicant_types,
    ]


class ServiceIndex:
    """A BM25 index over service names, aliases, departments and material names."""

    def __init__(self, services: Iterable[Service]) -> None:
        # bm25s pulls in scipy (~0.3 s); importing it here keeps `import guides` cheap for the CLI and prereview.
        import bm25s

        self.services: list[Service] = list(services)
        self._bm25 = bm25s.BM25(k1=1.2, b=0.75)
        corpus = [tokenize(" ".join(service_text(service))) or [""] for service in self.services]
        if self.services:
            self._bm25.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self.services)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every service for a query (zeros when no query word is in the index)."""
        if not self.services:
            return np.zeros(0)
        vocab = self._bm25.vocab_dict
        ids = [vocab[token] for token in tokenize(query, query=True) if token in vocab]
        if not ids:
            return np.zeros(len(self.services))
        return np.asarray(self._bm25.get_scores(ids), dtype=float)

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Services matching the query, best first; empty when nothing matches."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [SearchHit(self.services[i], round(float(scores[i]), 4)) for i in order if scores[i] > 0]


def top_k_hit_rate(index: ServiceIndex, cases: Sequence[tuple[str, str]], k: int = 3) -> float:
    """Share of (query, expected service code) cases whose expected service is in the top ``k``."""
    if not cases:
        raise ValueError("no cases")
    hits = sum(
        1 for query, code in cases if code in {hit.service.code for hit in index.search(query, limit=k)}
    )
    return hits / len(cases)


_BRACKETED = re.compile(r"[（(][^（）()]*[)）]")
_REGION_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{2,3}(?:省|市|区|县))+")
ACTION_WORDS = frozenset(
    "审批 许可 登记 备案 认定 核准 申请 办理 公示 查询 服务 变更 注销 核发 审核 确认 发放 受理 延续 换发 补发 颁发 "
    "初审 审查 评审 申报 签发".split()
)


def derived_query(service: Service) -> str:
    """A citizen-style question derived from a real item without copying its name (for evaluation).

    Procedure: drop bracketed parts and a leading region prefix (广东省, 广州市…), segment with jieba, drop
    trailing action words (审批, 登记, 许可…), keep the last three remaining words as the key noun phrase
    (dropping the first word when that would be the whole name), and ask ``办<phrase>需要什么材料``.
    """
    name = _REGION_PREFIX.sub("", _BRACKETED.sub("", normalise(service.name))).strip()
    words = [word for word in rjieba.cut(name, False) if word.strip()]
    while len(words) > 1 and words[-1] in ACTION_WORDS:
        words.pop()
    kept = words[-3:]
    if len(kept) == len(words) > 1:
        kept = words[1:]
    phrase = "".join(kept) or name
    return f"办{phrase}需要什么材料"
