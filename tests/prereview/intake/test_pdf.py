"""PDF intake through the sandboxed worker: text layers, scans, limits, encryption, timeouts, crashes."""

from __future__ import annotations

import json
import random
import signal
import zlib
from pathlib import Path

import numpy as np
import pytest

from prereview.intake import intake_file
from prereview.intake.pdf import _collect
from prereview.report import FindingCode
from prereview.settings import PrereviewSettings
from tests.prereview.hostile.generate import (
    document_image,
    encode,
    encrypt,
    image_pdf,
    pdf_from_objects,
    pdf_stream,
    text_pdf,
)

LINES = ["Application for business licence", "Applicant: Zhang San 2024"]


def _single_page_pdf(content: bytes, resources: bytes = b"", media_box: bytes = b"[0 0 595 842]") -> bytes:
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources << %s >> /Contents 4 0 R >>" % (media_box, resources),
            pdf_stream(content),
        ]
    )


def test_text_layer_page_gives_lines_at_render_dpi_and_a_preview(settings: PrereviewSettings) -> None:
    result = intake_file(name="form.pdf", data=text_pdf(LINES), settings=settings)
    assert result.media_type == "application/pdf" and result.findings == []
    (page,) = result.pages
    assert (page.source, page.pdf_content) == ("pdf_text", "text_layer")
    assert [line.text for line in page.text_lines] == LINES
    assert page.text_dpi == settings.render_dpi and page.dpi == settings.preview_dpi
    # A4 is 595 x 842 pt: 827 x 1170 px at 100 dpi
    assert page.size == (827, 1169) or page.size == (827, 1170)
    scale = settings.render_dpi / 72
    x0, y0, x1, y1 = page.text_lines[0].bbox
    assert x0 == pytest.approx(72 * scale, abs=3)
    assert y1 == pytest.approx((842 - 770) * scale, abs=8)
    assert x0 < x1 and y0 < y1 and x1 < 595 * scale


def test_chinese_text_layer_is_read(settings: PrereviewSettings) -> None:
    text = "申请人：张三 身份证号码".encode("utf-16-be").hex().encode()
    song = (
        b"/Font << /F1 << /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> >>] >> >>"
    )
    (page,) = intake_file(name="zh.pdf", data=_single_page_pdf(b"BT /F1 14 Tf 72 770 Td <" + text + b"> Tj ET", song), settings=settings).pages
    assert page.source == "pdf_text"
    assert [line.text for line in page.text_lines] == ["申请人：张三 身份证号码"]


def test_filled_form_fields_become_their_own_lines(settings: PrereviewSettings) -> None:
    appearance = pdf_stream(
        b"/Tx BMC BT /Helv 12 Tf 2 6 Td (Zhang San) Tj ET EMC",
        b"/Type /XObject /Subtype /Form /BBox [0 0 200 20] /Resources << /Font << /Helv 5 0 R >> >> ",
    )
    data = pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /DA (/Helv 12 Tf 0 g) >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 7 0 R >>",
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (Zhang San) /Rect [150 700 350 720] /P 3 0 R "
            b"/DA (/Helv 12 Tf 0 g) /AP << /N 6 0 R >> /F 4 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            appearance,
            pdf_stream(b"BT /F1 12 Tf 72 705 Td (Applicant name:) Tj ET"),
        ]
    )
    (page,) = intake_file(name="form.pdf", data=data, settings=settings).pages
    assert [line.text for line in page.text_lines] == ["Applicant name:", "Zhang San"]
    label, value = (line.bbox for line in page.text_lines)
    # the field box starts at x = 150 pt (+2 pt padding), overlapping the end of its label
    assert value[0] == pytest.approx(152 * settings.render_dpi / 72, abs=4)
    assert value[0] < label[2] and abs(value[3] - label[3]) < 20


def test_rotated_page_text_boxes_follow_the_rendering(settings: PrereviewSettings) -> None:
    result = intake_file(name="r.pdf", data=text_pdf(LINES, media_box=b"[0 0 595 842] /Rotate 90"), settings=settings)
    (page,) = result.pages
    assert page.size[0] > page.size[1]
    width_at_text_dpi = page.size[0] * page.text_dpi / page.dpi
    for line in page.text_lines:
        x0, y0, x1, y1 = line.bbox
        assert 0 <= x0 < x1 <= width_at_text_dpi + 2
        assert y1 - y0 > x1 - x0  # the lines run down the rendered page


def test_scanned_page_is_taken_at_the_scan_resolution(settings: PrereviewSettings) -> None:
    scan = document_image(random.Random(4), 620, 877)
    result = intake_file(name="scan.pdf", data=image_pdf(encode(scan, "JPEG", quality=90), 620, 877), settings=settings)
    (page,) = result.pages
    assert (page.source, page.pdf_content) == ("pdf_scan", "scanned")
    assert page.size == (620, 877) and page.text_lines == [] and page.text_dpi is None
    assert page.dpi == pytest.approx(75, abs=1)
    assert page.image is not None
    expected = np.asarray(scan)[:, :, ::-1].astype(int)
    assert np.abs(page.image.astype(int) - expected).mean() < 6


def test_scan_with_a_page_number_is_still_scanned(settings: PrereviewSettings) -> None:
    scan = encode(document_image(random.Random(5), 310, 438), "JPEG")
    data = pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 4 0 R >> "
            b"/Font << /F1 6 0 R >> >> /Contents 5 0 R >>",
            pdf_stream(scan, b"/Type /XObject /Subtype /Image /Width 310 /Height 438 /ColorSpace /DeviceRGB "
                       b"/BitsPerComponent 8 /Filter /DCTDecode "),
            pdf_stream(b"q 595 0 0 842 0 0 cm /Im1 Do Q BT /F1 9 Tf 290 20 Td (- 1 -) Tj ET"),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )
    (page,) = intake_file(name="s.pdf", data=data, settings=settings).pages
    assert (page.source, page.pdf_content, page.dpi) == ("pdf_scan", "scanned", settings.render_dpi)


def test_vector_only_page_is_rendered_for_ocr(settings: PrereviewSettings) -> None:
    result = intake_file(name="v.pdf", data=_single_page_pdf(b"10 w 100 100 m 400 600 l S"), settings=settings)
    (page,) = result.pages
    assert (page.source, page.pdf_content, page.dpi) == ("pdf_scan", "no_text", settings.render_dpi)
    assert page.image is not None and page.image.min() < 50


def test_text_without_unicode_mapping_goes_to_ocr(settings: PrereviewSettings) -> None:
    font = b"/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Differences [1 /g1 /g2 /g3] >> >> >>"
    data = _single_page_pdf(b"BT /F1 14 Tf 72 770 Td (\x01\x02\x03\x01\x02\x03) Tj ET", font)
    (page,) = intake_file(name="u.pdf", data=data, settings=settings).pages
    assert (page.source, page.pdf_content, page.text_lines) == ("pdf_scan", "text_unextractable", [])


def test_pages_beyond_max_pages_are_reported_and_the_first_ones_kept(settings: PrereviewSettings) -> None:
    result = intake_file(name="long.pdf", data=text_pdf(LINES, pages=7), settings=settings.model_copy(update={"max_pages": 3}))
    assert [page.number for page in result.pages] == [1, 2, 3]
    (finding,) = result.findings
    assert finding.code is FindingCode.too_many_pages
    assert "共 7 页" in finding.message


def test_password_protected_pdf_is_refused(settings: PrereviewSettings) -> None:
    result = intake_file(name="p.pdf", data=encrypt(text_pdf(LINES), "secret", "AES-256"), settings=settings)
    assert result.pages == []
    (finding,) = result.findings
    assert finding.code is FindingCode.encrypted_pdf and "密码" in finding.message


def test_owner_password_only_pdf_opens_with_the_empty_password(settings: PrereviewSettings) -> None:
    data = encrypt(text_pdf(LINES), "", "AES-128", owner="owner")
    (page,) = intake_file(name="o.pdf", data=data, settings=settings).pages
    assert [line.text for line in page.text_lines] == LINES


def test_truncated_pdf_asks_for_a_new_upload(settings: PrereviewSettings) -> None:
    data = text_pdf(LINES)
    result = intake_file(name="cut.pdf", data=data[: len(data) - 40], settings=settings)
    assert [f.code for f in result.findings] == [FindingCode.broken_file]
    assert "不完整" in result.findings[0].message


def test_stream_bomb_is_refused_before_rendering(settings: PrereviewSettings) -> None:
    bomb = pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            pdf_stream(zlib.compress(b"0 0 m\n" * 2_000_000, 9), b"/Filter /FlateDecode "),
        ]
    )
    result = intake_file(name="bomb.pdf", data=bomb, settings=settings.model_copy(update={"pdf_max_stream_mb": 5}))
    assert result.pages == []
    (finding,) = result.findings
    assert finding.code is FindingCode.broken_file and "pdf_max_stream_mb" in finding.detail


def _slow_page_stream() -> bytes:
    """A content stream of 300,000 path operations: seconds to render."""
    return b"".join(b"%d %d m %d %d l " % (i % 595, i * 7 % 842, i * 13 % 595, i * 3 % 842) for i in range(300_000)) + b"S"


def test_whole_file_timeout(settings: PrereviewSettings) -> None:
    data = pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            pdf_stream(_slow_page_stream()),
        ]
    )
    # The page alone would be allowed far longer: only the whole-file limit can stop it.
    limits = settings.model_copy(update={"pdf_timeout_s": 0.3, "page_timeout_s": 60})
    result = intake_file(name="t.pdf", data=data, settings=limits)
    assert result.pages == []
    (finding,) = result.findings
    assert finding.code is FindingCode.processing_timeout and "超时" in finding.message


def test_slow_page_timeout_keeps_earlier_pages(settings: PrereviewSettings) -> None:
    heavy = _slow_page_stream()
    pages = b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>"
    data = pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            pages,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            pdf_stream(b"10 w 100 100 m 400 600 l S"),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 6 0 R >>",
            pdf_stream(heavy),
        ]
    )
    result = intake_file(name="slow.pdf", data=data, settings=settings.model_copy(update={"page_timeout_s": 0.3}))
    assert [page.number for page in result.pages] == [1]
    assert [(f.code, f.page) for f in result.findings] == [(FindingCode.processing_timeout, 2)]


def test_worker_memory_limit_becomes_a_clear_finding(settings: PrereviewSettings) -> None:
    poster = text_pdf(LINES, media_box=b"[0 0 2384 3370]")
    tight = settings.model_copy(update={"pdf_memory_mb": 256, "preview_dpi": 300, "max_pixels_per_page": 100_000_000})
    result = intake_file(name="poster.pdf", data=poster, settings=tight)
    assert result.pages == []
    (finding,) = result.findings
    assert finding.code is FindingCode.broken_file and "memory" in finding.detail


@pytest.mark.parametrize(
    ("returncode", "code", "detail"),
    [
        (-signal.SIGSEGV, FindingCode.broken_file, "SIGSEGV"),
        (-signal.SIGXCPU, FindingCode.processing_timeout, "pdf_timeout_s"),
        (None, FindingCode.processing_timeout, "pdf_timeout_s"),
        (1, FindingCode.broken_file, "exit 1"),
    ],
)
def test_a_worker_that_dies_keeps_finished_pages(
    tmp_path: Path, returncode: int | None, code: FindingCode, detail: str, settings: PrereviewSettings
) -> None:
    np.save(tmp_path / "page-0001.npy", np.zeros((10, 8, 3), np.uint8), allow_pickle=False)
    events = [
        {"event": "document", "pages": 2},
        {"event": "page", "number": 1, "source": "pdf_scan", "content": "scanned", "image": "page-0001.npy", "dpi": 200, "lines": []},
        {"event": "page", "number": 2, "source": "pdf_scan", "image": "../../etc/passwd"},
    ]
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(e) for e in events) + '\n{"event": "pa', encoding="utf-8")
    result = _collect(name="x.pdf", workdir=tmp_path, returncode=returncode, elapsed_s=1.0, settings=settings)
    assert [page.size for page in result.pages] == [(8, 10)]
    assert [(f.code, f.page) for f in result.findings][0] == (FindingCode.unreadable_page, 2)
    assert result.findings[1].code is code and detail in result.findings[1].detail
    assert "1 of 2 pages" in result.findings[1].detail


def test_worker_output_past_the_page_limit_is_not_loaded(tmp_path: Path, settings: PrereviewSettings) -> None:
    np.save(tmp_path / "page-0001.npy", np.zeros((100, 100, 3), np.uint8), allow_pickle=False)
    event = {"event": "page", "number": 1, "source": "pdf_scan", "image": "page-0001.npy", "lines": []}
    (tmp_path / "manifest.jsonl").write_text(json.dumps(event) + '\n{"event": "done"}\n', encoding="utf-8")
    small = settings.model_copy(update={"max_pixels_per_page": 100})
    result = _collect(name="x.pdf", workdir=tmp_path, returncode=0, elapsed_s=0.1, settings=small)
    assert result.pages == []
    assert [(f.code, f.page) for f in result.findings] == [(FindingCode.unreadable_page, 1)]
