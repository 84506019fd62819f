import cv2
import numpy as np

from prereview.corpus.render import id_card_front
from prereview.corpus.people import make_person
from prereview.corpus.degrade import to_bgr
from prereview.ocr import CachedOcrEngine, FakeOcrEngine, OcrEngine, page_hash
from prereview.pages import TextLine
import datetime as dt
import random


def test_fake_engine_filters_regions_and_orders_lines():
    lines = [TextLine("下", (0, 100, 50, 120)), TextLine("上", (0, 0, 50, 20)), TextLine("右", (300, 2, 350, 22))]
    engine = FakeOcrEngine(lines)
    assert isinstance(engine, OcrEngine)
    image = np.zeros((200, 400, 3), np.uint8)
    assert [line.text for line in engine.recognise(image)] == ["上", "右", "下"]
    assert [line.text for line in engine.recognise(image, regions=[(250, 0, 400, 50)])] == ["右"]


def test_cache_answers_repeated_pages_from_memory_and_disk(tmp_path):
    engine = FakeOcrEngine([TextLine("姓名张三", (0, 0, 10, 10), 0.9)])
    cached = CachedOcrEngine(engine, max_entries=1, cache_dir=tmp_path)
    image = np.full((20, 20, 3), 7, np.uint8)
    other = np.full((20, 20, 3), 8, np.uint8)
    assert cached.recognise(image)[0].text == "姓名张三"
    cached.recognise(image)
    assert engine.calls == 1 and cached.hits == 1
    cached.recognise(other)  # evicts the first page from memory
    again = CachedOcrEngine(engine, cache_dir=tmp_path).recognise(image)
    assert again == [TextLine("姓名张三", (0, 0, 10, 10), 0.9)] and engine.calls == 2
    assert page_hash(image) != page_hash(other)


def test_rapidocr_reads_a_rendered_id_card(rapid_ocr):
    person = make_person(random.Random(5), application_date=dt.date(2026, 11, 24))
    image = to_bgr(id_card_front(person))
    text = "".join(line.text for line in rapid_ocr.recognise(image))
    assert person.id_number in text
    assert person.name in text
    region_lines = rapid_ocr.recognise(image, regions=[(240, 420, 720, 500)])
    assert [line.text for line in region_lines] == [person.id_number]
    assert region_lines[0].bbox[1] >= 420


def test_rapidocr_result_is_upright_for_a_rotated_page_only_with_classifier(rapid_ocr):
    person = make_person(random.Random(6), application_date=dt.date(2026, 11, 24))
    upside_down = cv2.rotate(to_bgr(id_card_front(person)), cv2.ROTATE_180)
    with_cls = "".join(line.text for line in rapid_ocr.recognise(upside_down, use_cls=True))
    assert person.id_number in with_cls


def test_paddleocr_engine_needs_the_package_and_local_models(tmp_path):
    import importlib.util

    import pytest

    from prereview.ocr import OcrUnavailableError, PaddleOcrEngine

    if importlib.util.find_spec("paddleocr") is None:
        with pytest.raises(OcrUnavailableError, match="paddleocr is not installed"):
            PaddleOcrEngine(det_model_dir=tmp_path, rec_model_dir=tmp_path)
        pytest.skip("paddleocr is not installed (optional extra '.[paddle]'); RapidOCR is the default engine")
    with pytest.raises(OcrUnavailableError, match="does not exist"):
        PaddleOcrEngine(det_model_dir=tmp_path / "missing", rec_model_dir=tmp_path)


def test_paddleocr_setting_without_model_folders_is_a_clear_error():
    import pytest

    from prereview.pipeline import build_engine
    from prereview.settings import PrereviewSettings

    with pytest.raises(ValueError, match="PREREVIEW_PADDLE_DET_MODEL_DIR"):
        build_engine(PrereviewSettings(ocr_engine="paddleocr"))
