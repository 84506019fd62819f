import random

import numpy as np
import pytest

from prereview.corpus import render
from prereview.corpus.degrade import photograph, to_bgr
from prereview.pages import TextLine
from prereview.seals import check_signatures, find_seals, name_similarity, read_seal_text

FIELDS = [("单位名称", "福州市鼓楼区一品面馆"), ("法定代表人", "李四")]


@pytest.fixture(scope="module")
def sealed_form():
    image = render.application_form("食品经营许可申请书", FIELDS, random.Random(1), seal_name="福州市鼓楼区一品面馆")
    return photograph(image, random.Random(2))


def test_seal_found_and_its_text_read_around_the_rim(sealed_form, rapid_ocr):
    seals = find_seals(sealed_form)
    assert len(seals) == 1
    text, confidence = read_seal_text(sealed_form, seals[0], rapid_ocr)
    assert name_similarity("福州市鼓楼区一品面馆", text) >= 0.8 and confidence > 0.8


def test_no_seal_on_an_unsealed_page_even_on_a_red_desk():
    image = render.application_form("申请书", FIELDS, random.Random(3))
    photo = photograph(image, random.Random(4))
    photo[:40, :, :] = (40, 40, 200)  # a red table edge in the frame
    assert find_seals(photo) == []


def test_name_similarity():
    assert name_similarity("一品面馆", "一品面馆") == 1.0
    assert name_similarity("一品面馆", "一品面") == 0.75
    assert name_similarity("", "x") == 0.0


def _form(signature: bool) -> tuple[np.ndarray, list[TextLine]]:
    image = to_bgr(render.application_form("申请表", FIELDS, random.Random(5), signature=signature))
    # Label and date positions as application_form draws them (two fields: signature row at y=560).
    label = TextLine("申请人签名：", (110, 560, 302, 592), 0.99)
    date = TextLine("日期：", (640, 560, 736, 592), 0.99)
    return image, [label, date]


def test_signature_ink_next_to_the_label():
    image, lines = _form(signature=True)
    assert check_signatures(image, lines).present is True
    image, lines = _form(signature=False)
    assert check_signatures(image, lines).present is False
    assert check_signatures(image, [TextLine("无标签", (0, 0, 10, 10))]).present is None


def test_signature_found_when_ocr_merges_it_into_a_tall_label_box():
    image, _ = _form(signature=True)
    lines = [TextLine("本人承诺所填写内容及提交材料真实、合法、有效。", (110, 420, 800, 452), 0.99),
             TextLine("申请人签名M", (105, 528, 560, 615), 0.9), TextLine("日期：", (640, 560, 736, 592), 0.99)]
    assert check_signatures(image, lines).present is True
    blank, _ = _form(signature=False)
    assert check_signatures(blank, lines).present is False
