"""Magic-byte detection, chunked reading under a limit, and the file-level checks of intake_file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from prereview.intake import FileFormat, FileTooLarge, detect_format, intake_file, read_limited, read_limited_async
from prereview.report import FindingCode
from prereview.settings import PrereviewSettings
from tests.prereview.hostile.generate import bmp_declared, document_image, encode, text_pdf


@pytest.fixture(scope="module")
def samples() -> dict[FileFormat, bytes]:
    import random

    page = document_image(random.Random(1), 64, 48)
    return {
        FileFormat.jpeg: encode(page, "JPEG"),
        FileFormat.png: encode(page, "PNG"),
        FileFormat.tiff: encode(page, "TIFF"),
        FileFormat.webp: encode(page, "WEBP"),
        FileFormat.bmp: encode(page, "BMP"),
        FileFormat.pdf: text_pdf(["hello"]),
    }


def test_every_accepted_format_is_detected_from_its_bytes(samples: dict[FileFormat, bytes]) -> None:
    for fmt, data in samples.items():
        assert detect_format(data) is fmt


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8", b"GIF89a....", b"PK\x03\x04rest", b"\x7fELF", b"<html>", b"BM not a bitmap at all!!", b" %PDF-1.7"],
)
def test_other_bytes_are_not_detected(data: bytes) -> None:
    assert detect_format(data) is None


def test_bmp_needs_a_known_info_header_size() -> None:
    assert detect_format(bmp_declared(4, 4)) is FileFormat.bmp
    data = bytearray(bmp_declared(4, 4))
    data[14:18] = (99).to_bytes(4, "little")
    assert detect_format(bytes(data)) is None


def test_the_name_is_ignored(samples: dict[FileFormat, bytes], settings: PrereviewSettings) -> None:
    result = intake_file(name="scan.jpg", data=samples[FileFormat.png], settings=settings)
    assert result.media_type == "image/png"
    assert len(result.pages) == 1


def test_unsupported_file_says_which_formats_are_accepted(settings: PrereviewSettings) -> None:
    result = intake_file(name="a.gif", data=b"GIF89a" + bytes(40), settings=settings)
    (finding,) = result.findings
    assert finding.code is FindingCode.unsupported_file
    assert finding.severity == "blocking"
    assert finding.file == "a.gif"
    for accepted in ("JPG", "PNG", "TIFF", "WebP", "BMP", "PDF"):
        assert accepted in finding.message
    assert "47 49 46 38" in finding.detail
    assert result.pages == []


def test_empty_upload_is_a_broken_file(settings: PrereviewSettings) -> None:
    (finding,) = intake_file(name="x.jpg", data=b"", settings=settings).findings
    assert finding.code is FindingCode.broken_file
    assert "为空" in finding.message


def test_intake_rechecks_the_size(samples: dict[FileFormat, bytes]) -> None:
    small = PrereviewSettings(max_file_mb=0.001)
    result = intake_file(name="big.png", data=samples[FileFormat.png] + bytes(2000), settings=small)
    (finding,) = result.findings
    assert finding.code is FindingCode.file_too_large
    assert "MB" in finding.message
    assert result.pages == []


def _chunks(total: int, size: int, consumed: list[int]) -> Iterator[bytes]:
    for _ in range(0, total, size):
        consumed.append(size)
        yield b"x" * size


def test_read_limited_returns_everything_up_to_the_limit() -> None:
    assert read_limited(_chunks(1000, 100, []), 1000) == b"x" * 1000


def test_read_limited_stops_at_the_first_chunk_past_the_limit() -> None:
    consumed: list[int] = []
    with pytest.raises(FileTooLarge) as raised:
        read_limited(_chunks(10_000, 100, consumed), 1050)
    assert raised.value.max_bytes == 1050
    assert raised.value.received_bytes == 1100
    assert raised.value.code == "file_too_large"
    assert len(consumed) == 11


def test_read_limited_rejects_non_bytes_chunks() -> None:
    with pytest.raises(TypeError):
        read_limited(iter(["text"]), 100)  # type: ignore[list-item]


async def _achunks(total: int, size: int) -> AsyncIterator[bytes]:
    for _ in range(0, total, size):
        yield b"y" * size


def test_read_limited_awaits_async_streams() -> None:
    assert asyncio.run(read_limited(_achunks(300, 100), 300)) == b"y" * 300  # type: ignore[arg-type]
    with pytest.raises(FileTooLarge):
        asyncio.run(read_limited_async(_achunks(300, 100), 299))
    assert asyncio.run(read_limited_async(iter([b"ab", b"c"]), 3)) == b"abc"


def test_logs_mask_id_and_phone_numbers_in_file_names(
    caplog: pytest.LogCaptureFixture, samples: dict[FileFormat, bytes], settings: PrereviewSettings
) -> None:
    name = "张三_11010119900307123X_13812345678.png"
    with caplog.at_level("INFO", logger="prereview.intake"):
        result = intake_file(name=name, data=samples[FileFormat.png], settings=settings)
    assert result.pages[0].file == name
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "110101********123X" in logged and "138****5678" in logged
    assert "19900307" not in logged and "13812345678" not in logged
