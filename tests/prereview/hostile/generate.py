"""Seeded generator of hostile uploads for the intake tests: truncations, lies, bombs, loops, polyglots.

``python -m tests.prereview.hostile.generate OUT_DIR [--seed N]`` writes the corpus to a folder; the
tests call ``generate_corpus(seed)`` and write it to a temporary folder. Nothing here is committed as
data: every file is built from code (the large seed-free ones are cached per process).
"""

from __future__ import annotations

import argparse
import functools
import io
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pypdf import PdfWriter

# What a case may end in: decoded pages, or one of these finding codes.
BROKEN = frozenset({"broken_file", "unreadable_page"})
ANY_REFUSAL = frozenset(
    {"broken_file", "unreadable_page", "unsupported_file", "image_too_large", "processing_timeout", "too_many_pages"}
)


@dataclass(frozen=True)
class HostileCase:
    """One hostile file and what intake may answer.

    ``pages`` True: pages are required (and, when ``codes`` is set, a finding with one of them too);
    ``pages`` False: no page may appear and a finding with one of ``codes`` must;
    ``pages`` None: either pages, or no pages and a finding with one of ``codes``.
    """

    name: str
    data: bytes
    category: str
    codes: frozenset[str] = frozenset()
    pages: bool | None = None


# ---------------------------------------------------------------- raw PDF building


def pdf_stream(data: bytes, extra: bytes = b"") -> bytes:
    """The body of a stream object."""
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf_from_objects(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"", version: bytes = b"1.7") -> bytes:
    """A complete PDF (header, objects 1..n, classic xref, trailer) from object bodies."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer_extra,
        xref_at,
    )
    return bytes(out)


def text_pdf(lines: list[str], *, pages: int = 1, media_box: bytes = b"[0 0 595 842]", catalog_extra: bytes = b"") -> bytes:
    """A PDF whose pages share one Helvetica content stream with ``lines``."""
    ops = [b"BT /F1 14 Tf 16 TL 72 770 Td"]
    ops += [b"(%s) Tj T*" % line.encode("latin-1") for line in lines]
    ops.append(b"ET")
    content = b"\n".join(ops)
    first_page = 5
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R %s>>" % catalog_extra,
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        pdf_stream(content),
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
        % media_box
    ] * pages
    return pdf_from_objects(objects)


def image_pdf(jpeg: bytes, width_px: int, height_px: int, *, width_pt: int = 595, height_pt: int = 842) -> bytes:
    """A scanned page: one DCT image drawn over the whole page."""
    content = b"q %d 0 0 %d 0 0 cm /Im1 Do Q" % (width_pt, height_pt)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /XObject << /Im1 4 0 R >> >> "
        b"/Contents 5 0 R >>" % (width_pt, height_pt),
        pdf_stream(
            jpeg,
            b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 "
            b"/Filter /DCTDecode " % (width_px, height_px),
        ),
        pdf_stream(content),
    ]
    return pdf_from_objects(objects)


def page_tree_pdf(pages_body: bytes, page_body: bytes, extra_objects: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """A PDF with hand-written Pages (object 2) and Page (object 3) dictionaries."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", pages_body, page_body, *extra_objects]
    return pdf_from_objects(objects)


# ---------------------------------------------------------------- sample images


def document_image(rng: random.Random, width: int, height: int) -> Image.Image:
    """A white page with dark text-like bars and a little noise: compresses like a real scan."""
    pixels = np.full((height, width, 3), 245, np.uint8)
    generator = np.random.default_rng(rng.randrange(1 << 30))
    for row in range(20, height - 20, 24):
        length = int(generator.integers(width // 4, width - 40))
        pixels[row : row + 10, 20 : 20 + length] = 30
    pixels = np.clip(pixels.astype(np.int16) + generator.integers(-8, 8, pixels.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """Bytes of ``image`` saved by Pillow as ``fmt``."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declared(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header declares any size, followed by the given compressed data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


@functools.cache
def png_deflate_bomb(side: int) -> bytes:
    """A greyscale PNG of side x side zero pixels: a few hundred KiB that inflate to side² bytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return png_declared(side, side, body)


def jpeg_with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """A JPEG whose SOF marker is rewritten to declare another size."""
    data = bytearray(jpeg)
    index = 2
    while index < len(data) - 9:
        marker = data[index + 1]
        length = int.from_bytes(data[index + 2 : index + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            data[index + 5 : index + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        index += 2 + length
    raise ValueError("no SOF marker")


def jpeg_scan_bomb(jpeg: bytes, extra_scans: int = 2_000) -> bytes:
    """A progressive JPEG with its smallest scan repeated thousands of times before the end marker."""
    progressive = encode(Image.open(io.BytesIO(jpeg)), "JPEG", progressive=True)
    starts = [index for index in range(len(progressive) - 1) if progressive[index : index + 2] == b"\xff\xda"]
    ends = [*starts[1:], len(progressive) - 2]
    smallest = min((progressive[start:end] for start, end in zip(starts, ends, strict=True)), key=len)
    return progressive[:-2] + smallest * extra_scans + b"\xff\xd9"


def bmp_declared(width: int, height: int, bits: int = 24) -> bytes:
    """A BMP header that declares any size, with a few bytes of pixel data."""
    pixels = b"\x00" * 64
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, 0, len(pixels), 2835, 2835, 0, 0)
    header = b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


def webp_vp8x_canvas(width: int, height: int) -> bytes:
    """A WebP with an extended header declaring a huge canvas and no image data."""
    payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@functools.cache
def tiff_frames(count: int, side: int = 8) -> bytes:
    """A little-endian multi-page TIFF of ``count`` tiny uncompressed grey frames, written by hand.

    (Pillow's save_all re-reads every earlier IFD per frame, which is quadratic in ``count``.)
    """
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    next_pointer_at = 4
    for index in range(count):
        strip_at = len(out)
        out += bytes([(255 - index) % 256]) * (side * side)
        if len(out) % 2:
            out += b"\x00"
        ifd_at = len(out)
        out[next_pointer_at : next_pointer_at + 4] = struct.pack("<I", ifd_at)
        tags = [(256, 3, side), (257, 3, side), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, strip_at), (278, 3, side), (279, 4, side * side)]
        out += struct.pack("<H", len(tags))
        for tag, kind, value in tags:
            out += struct.pack("<HHII", tag, kind, 1, value) if kind == 4 else struct.pack("<HHIHH", tag, kind, 1, value, 0)
        next_pointer_at = len(out)
        out += b"\x00\x00\x00\x00"
    return bytes(out)


@functools.cache
def zip_bomb(inflated_mb: int = 20) -> bytes:
    """A ZIP whose one entry inflates a thousandfold (refused by its magic bytes, never opened)."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.bin", bytes(inflated_mb * 1024 * 1024))
    return buffer.getvalue()


def zip_bytes() -> bytes:
    """A small ZIP archive."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a document " * 50)
    return buffer.getvalue()


# ---------------------------------------------------------------- the corpus


def _truncations(rng: random.Random, name: str, data: bytes, count: int, category: str) -> list[HostileCase]:
    offsets = sorted({rng.randrange(1, len(data) - 1) for _ in range(count * 2)})[:count]
    return [
        HostileCase(f"{category}-{offset:07d}-{name}", data[:offset], "truncated", codes=ANY_REFUSAL, pages=None)
        for offset in offsets
    ]


def _splices(rng: random.Random, name: str, data: bytes, count: int) -> list[HostileCase]:
    """``data`` with a random middle slice cut out, the end (a PDF's trailer and %%EOF) kept."""
    cases = []
    for _ in range(count):
        start = rng.randrange(16, len(data) - 64)
        stop = rng.randrange(start + 1, len(data) - 32)
        cases.append(
            HostileCase(f"spliced-{start:06d}-{stop:06d}-{name}", data[:start] + data[stop:], "truncated", ANY_REFUSAL, None)
        )
    return cases


def generate_corpus(seed: int = 12345) -> list[HostileCase]:
    """Every hostile case, deterministic for a seed."""
    rng = random.Random(seed)
    page = document_image(rng, 620, 877)
    jpeg = encode(page, "JPEG", quality=80)
    png = encode(page.convert("RGBA"), "PNG")
    tiff = encode(page, "TIFF", save_all=True, append_images=[page.rotate(90, expand=True), page.convert("L")])
    webp = encode(page, "WEBP", quality=70)
    bmp = encode(page.convert("P", palette=Image.Palette.ADAPTIVE), "BMP")
    scanned_pdf = image_pdf(jpeg, *page.size)
    words = ["Application for business licence", "Applicant: Zhang San", "ID 110101199003071234", "Signature"]
    plain_pdf = text_pdf(words)

    cases: list[HostileCase] = [
        HostileCase("valid.jpg", jpeg, "valid", pages=True),
        HostileCase("valid.png", png, "valid", pages=True),
        HostileCase("valid.tif", tiff, "valid", pages=True),
        HostileCase("valid.webp", webp, "valid", pages=True),
        HostileCase("valid.bmp", bmp, "valid", pages=True),
        HostileCase("valid-scan.pdf", scanned_pdf, "valid", pages=True),
        HostileCase("valid-text.pdf", plain_pdf, "valid", pages=True),
    ]

    for name, data, count in (
        ("photo.jpg", jpeg, 30),
        ("page.png", png, 30),
        ("text.pdf", plain_pdf, 25),
        ("scan.pdf", scanned_pdf, 20),
        ("pages.tif", tiff, 12),
        ("page.webp", webp, 12),
        ("page.bmp", bmp, 12),
    ):
        cases += _truncations(rng, name, data, count, "truncated")
    cases += _splices(rng, "text.pdf", plain_pdf, 12)
    cases += _splices(rng, "scan.pdf", scanned_pdf, 8)

    unsupported = frozenset({"unsupported_file"})
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    cases += [
        HostileCase("pdf-named.jpg", plain_pdf, "wrong_magic", pages=True),
        HostileCase("png-named.pdf", png, "wrong_magic", pages=True),
        HostileCase("jpeg-with-png-header.png", b"\x89PNG\r\n\x1a\n" + jpeg[8:], "wrong_magic", BROKEN, pages=False),
        HostileCase("png-with-jpeg-header.jpg", b"\xff\xd8\xff\xe0" + png[4:], "wrong_magic", BROKEN, pages=False),
        HostileCase("pdf-header-only.pdf", b"%PDF-1.7\n", "wrong_magic", BROKEN, pages=False),
        HostileCase("notes.txt", "这是一段文字，不是图片。\n".encode() * 20, "wrong_magic", unsupported, pages=False),
        HostileCase("archive.zip", zip_bytes(), "wrong_magic", unsupported, pages=False),
        HostileCase("office.docx", zip_bytes(), "wrong_magic", unsupported, pages=False),
        HostileCase("program.elf", b"\x7fELF\x02\x01\x01" + bytes(120), "wrong_magic", unsupported, pages=False),
        HostileCase("page.html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "wrong_magic", unsupported, pages=False),
        HostileCase("vector.svg", svg, "wrong_magic", unsupported, pages=False),
        HostileCase("image.gif", encode(page.convert("P"), "GIF"), "wrong_magic", unsupported, pages=False),
        HostileCase("empty.jpg", b"", "wrong_magic", BROKEN, pages=False),
        HostileCase("one-byte.png", b"\x89", "wrong_magic", unsupported, pages=False),
        HostileCase("bm-text.bmp", b"BM this is text pretending to be a bitmap", "wrong_magic", unsupported, pages=False),
        HostileCase("riff-wave.webp", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32), "wrong_magic", unsupported, pages=False),
        HostileCase("pdf-after-junk.pdf", b"junk" * 10 + plain_pdf, "wrong_magic", unsupported, pages=False),
        HostileCase("utf16.txt", "文件".encode("utf-16"), "wrong_magic", unsupported, pages=False),
    ]

    too_large = frozenset({"image_too_large"})
    cases += [
        HostileCase("huge-declared.png", png_declared(100_000, 100_000, zlib.compress(b"\x00" * 100)), "bomb", too_large, pages=False),
        HostileCase("20000x20000.png", png_declared(20_000, 20_000, zlib.compress(b"\x00" * 100)), "bomb", too_large, pages=False),
        HostileCase("deflate-bomb.png", png_deflate_bomb(7_000), "bomb", too_large, pages=False),
        HostileCase("sof-65000.jpg", jpeg_with_size(jpeg, 65_000, 65_000), "bomb", too_large, pages=False),
        HostileCase("wide-strip.jpg", jpeg_with_size(jpeg, 65_000, 8), "bomb", too_large, pages=False),
        HostileCase("huge.bmp", bmp_declared(50_000, 50_000), "bomb", too_large, pages=False),
        HostileCase("huge-topdown.bmp", bmp_declared(30_000, -30_000), "bomb", too_large, pages=False),
        HostileCase("canvas.webp", webp_vp8x_canvas(16_000, 16_000), "bomb", too_large | BROKEN, pages=False),
        HostileCase("frames-3000.tif", tiff_frames(3_000), "bomb", frozenset({"too_many_pages"}), pages=True),
    ]
    looped = bytearray(tiff_frames(2))
    looped[-4:] = looped[4:8]  # the last IFD's "next" points back at the first
    cases.append(HostileCase("ifd-loop.tif", bytes(looped), "bomb", ANY_REFUSAL, None))
    cases.append(HostileCase("zip-bomb.zip", zip_bomb(), "bomb", unsupported, pages=False))
    cases.append(HostileCase("scan-bomb.jpg", jpeg_scan_bomb(jpeg), "bomb", BROKEN, pages=False))
    cases.append(HostileCase("big-frame.tif", big_frame_tiff(), "bomb", too_large, pages=False))

    declared_image = pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 4 0 R >> >> "
            b"/Contents 5 0 R >>",
            pdf_stream(
                zlib.compress(b"\x00" * 1000),
                b"/Type /XObject /Subtype /Image /Width 200000 /Height 200000 /ColorSpace /DeviceRGB "
                b"/BitsPerComponent 8 /Filter /FlateDecode ",
            ),
            pdf_stream(b"q 595 0 0 842 0 0 cm /Im1 Do Q"),
        ]
    )
    cases += [
        HostileCase("deflate-bomb.pdf", deflate_bomb_pdf(), "pdf_bomb", BROKEN, pages=False),
        HostileCase("declared-image.pdf", declared_image, "pdf_bomb", ANY_REFUSAL, pages=None),
        HostileCase("pages-5000.pdf", text_pdf(words, pages=5_000), "pdf_bomb", frozenset({"too_many_pages"}), pages=True),
        HostileCase("huge-mediabox.pdf", text_pdf(words, media_box=b"[0 0 1000000 1000000]"), "pdf_bomb", too_large, pages=False),
        HostileCase("a0-poster.pdf", text_pdf(words, media_box=b"[0 0 2384 3370]"), "pdf_bomb", pages=True),
        HostileCase("zero-mediabox.pdf", text_pdf(words, media_box=b"[0 0 0 0]"), "pdf_bomb", ANY_REFUSAL, pages=None),
        HostileCase("slow-page.pdf", slow_page_pdf(), "pdf_bomb", frozenset({"processing_timeout"}), pages=None),
        HostileCase("nan-mediabox.pdf", text_pdf(words, media_box=b"[0 0 1e400 -5]"), "pdf_bomb", ANY_REFUSAL, pages=None),
    ]

    encrypted = frozenset({"encrypted_pdf"})
    for algorithm in ("RC4-40", "RC4-128", "AES-128", "AES-256"):
        cases.append(HostileCase(f"encrypted-{algorithm}.pdf", encrypt(plain_pdf, "secret", algorithm), "encrypted", encrypted, pages=False))
    cases.append(HostileCase("owner-password-only.pdf", encrypt(plain_pdf, "", "AES-128", owner="owner"), "encrypted", pages=True))
    cases.append(HostileCase("owner-password-only-rc4.pdf", encrypt(plain_pdf, "", "RC4-128", owner="owner"), "encrypted", pages=True))

    page3 = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    content = pdf_stream(b"BT /F1 14 Tf 72 770 Td (Loop test page) Tj ET")
    deep = b"[" * 10_000 + b"]" * 10_000
    cases += [
        HostileCase("kids-cycle.pdf", page_tree_pdf(b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>", page3, [font, content]), "structure", ANY_REFUSAL, None),
        HostileCase("parent-loop.pdf", page_tree_pdf(b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 2 0 R >>", page3.replace(b"/Parent 2 0 R", b"/Parent 3 0 R"), [font, content]), "structure", ANY_REFUSAL, None),
        HostileCase("pages-is-page.pdf", page_tree_pdf(b"<< /Type /Pages /Kids [2 0 R] /Count 1000000 >>", page3, [font, content]), "structure", ANY_REFUSAL, pages=False),
        HostileCase("deep-array.pdf", page_tree_pdf(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page3.replace(b">> /Contents", b"/Deep " + deep + b" >> /Contents"), [font, content]), "structure", ANY_REFUSAL, None),
        HostileCase("deep-dict.pdf", page_tree_pdf(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page3, [font, content, b"<< /A " * 5_000 + b">>" * 5_000]), "structure", ANY_REFUSAL, None),
        HostileCase("self-reference.pdf", page_tree_pdf(b"2 0 R", page3, [font, content]), "structure", ANY_REFUSAL, pages=False),
        HostileCase("contents-loop.pdf", page_tree_pdf(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page3.replace(b"/Contents 5 0 R", b"/Contents [5 0 R 3 0 R 5 0 R]"), [font, content]), "structure", ANY_REFUSAL, None),
        HostileCase("xobject-recursion.pdf", xobject_recursion_pdf(), "structure", ANY_REFUSAL, None),
        HostileCase("q-stack.pdf", page_tree_pdf(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page3, [font, pdf_stream(b"q " * 200_000 + b"BT /F1 14 Tf 72 770 Td (Deep state stack) Tj ET")]), "structure", ANY_REFUSAL, None),
        HostileCase("xref-garbage.pdf", xref_garbage(plain_pdf, rng), "structure", ANY_REFUSAL, None),
        HostileCase("no-xref.pdf", strip_xref(plain_pdf), "structure", ANY_REFUSAL, None),
        HostileCase("startxref-beyond.pdf", plain_pdf.replace(b"startxref\n", b"startxref\n9999999") , "structure", ANY_REFUSAL, None),
        HostileCase("no-eof.pdf", plain_pdf.replace(b"%%EOF", b""), "structure", BROKEN, pages=False),
        HostileCase("many-objects.pdf", many_objects_pdf(60_000), "structure", BROKEN, pages=False),
        HostileCase("javascript.pdf", text_pdf(words, catalog_extra=b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> "), "active", pages=True),
        HostileCase("launch-action.pdf", text_pdf(words, catalog_extra=b"/OpenAction << /S /Launch /F (cmd.exe) >> "), "active", pages=True),
        HostileCase("pdf-plus-zip.pdf", plain_pdf + zip_bytes(), "polyglot", pages=True),
        HostileCase("jpeg-plus-pdf.jpg", jpeg[:2] + b"\xff\xfe" + struct.pack(">H", 2 + len(plain_pdf[:60000])) + plain_pdf[:60000] + jpeg[2:], "polyglot", pages=True),
        HostileCase("png-plus-html.png", png + b"<html><script>alert(1)</script></html>", "polyglot", pages=True),
    ]

    odd_page = document_image(rng, 300, 400)
    cases += [
        HostileCase("rle8.bmp", encode(odd_page.convert("P", palette=Image.Palette.ADAPTIVE), "BMP"), "odd_format", pages=True),
        HostileCase("1bit.bmp", encode(odd_page.convert("1"), "BMP"), "odd_format", pages=True),
        HostileCase("bad-header-size.bmp", bmp_header_size(encode(odd_page, "BMP"), 200), "odd_format", unsupported, pages=False),
        HostileCase("topdown.bmp", bmp_declared(16, -2), "odd_format", ANY_REFUSAL, None),
        HostileCase("zero-width.bmp", bmp_declared(0, 10), "odd_format", ANY_REFUSAL, pages=False),
        HostileCase("lossless-alpha.webp", encode(odd_page.convert("RGBA"), "WEBP", lossless=True), "odd_format", pages=True),
        HostileCase("animated.webp", encode(odd_page, "WEBP", save_all=True, append_images=[odd_page.rotate(180)]), "odd_format", pages=True),
        HostileCase("riff-length-lies.webp", webp_length_lie(encode(odd_page, "WEBP")), "odd_format", ANY_REFUSAL, None),
        HostileCase("grey16.png", encode(Image.fromarray((np.arange(256 * 64, dtype=np.uint16).reshape(64, 256) * 4)), "PNG"), "odd_format", pages=True),
        HostileCase("cmyk.jpg", encode(odd_page.convert("CMYK"), "JPEG"), "odd_format", pages=True),
        HostileCase("palette-alpha.png", encode(odd_page.convert("P"), "PNG", transparency=0), "odd_format", pages=True),
        HostileCase("la.png", encode(odd_page.convert("LA"), "PNG"), "odd_format", pages=True),
        HostileCase("1bit-g4.tif", encode(odd_page.convert("1"), "TIFF", compression="group4"), "odd_format", pages=True),
        HostileCase("float.tif", encode(Image.fromarray(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)), "TIFF"), "odd_format", pages=True),
        HostileCase("progressive.jpg", encode(odd_page, "JPEG", progressive=True), "odd_format", pages=True),
        HostileCase("exif-rotated.jpg", exif_rotated_jpeg(odd_page), "odd_format", pages=True),
        HostileCase("png-crc-garbage.png", corrupt_bytes(png, rng, 40), "odd_format", ANY_REFUSAL, None),
        HostileCase("jpeg-garbage.jpg", corrupt_bytes(jpeg, rng, 200), "odd_format", ANY_REFUSAL, None),
        HostileCase("pdf-garbage.pdf", corrupt_bytes(plain_pdf, rng, 30), "odd_format", ANY_REFUSAL, None),
        HostileCase("tiff-garbage.tif", corrupt_bytes(tiff, rng, 60), "odd_format", ANY_REFUSAL, None),
    ]
    return cases


def encrypt(pdf: bytes, user_password: str, algorithm: str, owner: str | None = None) -> bytes:
    """``pdf`` encrypted by pypdf with the given user password and algorithm."""
    from pypdf import PdfReader

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password, owner_password=owner, algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def xobject_recursion_pdf() -> bytes:
    """A form XObject that draws itself."""
    form = pdf_stream(b"/Fx Do", b"/Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /XObject << /Fx 4 0 R >> >> ")
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Fx 4 0 R >> >> /Contents 5 0 R >>",
            form,
            pdf_stream(b"/Fx Do"),
        ]
    )


@functools.cache
def slow_page_pdf(segments: int = 300_000) -> bytes:
    """One page of ``segments`` criss-crossing strokes: seconds of rendering from 4 MB of content."""
    ops = b"".join(b"%d %d m %d %d l " % (i % 595, i * 7 % 842, i * 13 % 595, i * 3 % 842) for i in range(segments))
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            pdf_stream(ops + b"S"),
        ]
    )


@functools.cache
def big_frame_tiff() -> bytes:
    """A real deflate-compressed 4 600 x 4 600 TIFF page: 21 Mpx, past the hostile tests' 20 Mpx limit."""
    return encode(Image.new("L", (4_600, 4_600), 255), "TIFF", compression="tiff_deflate")


@functools.cache
def deflate_bomb_pdf() -> bytes:
    """A page whose 70 MB content stream is stored as about 70 kB of Flate data."""
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            pdf_stream(zlib.compress(b"0 0 m\n" * 12_000_000, 9), b"/Filter /FlateDecode "),
        ]
    )


@functools.cache
def many_objects_pdf(count: int) -> bytes:
    """A one-page PDF padded with ``count`` tiny objects."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    objects += [b"%d" % i for i in range(count)]
    return pdf_from_objects(objects)


def xref_garbage(pdf: bytes, rng: random.Random) -> bytes:
    """``pdf`` with every xref offset replaced by a random number."""
    head, _, tail = pdf.partition(b"xref\n")
    lines = tail.split(b"\n")
    for index, line in enumerate(lines):
        if line.endswith(b" n "):
            lines[index] = b"%010d 00000 n " % rng.randrange(10**9)
    return head + b"xref\n" + b"\n".join(lines)


def strip_xref(pdf: bytes) -> bytes:
    """``pdf`` without its xref table (readers must rebuild it by scanning)."""
    head, _, tail = pdf.partition(b"xref\n")
    return head + b"trailer" + tail.partition(b"trailer")[2]


def corrupt_bytes(data: bytes, rng: random.Random, flips: int) -> bytes:
    """``data`` with ``flips`` random bytes overwritten, the first 16 (the magic) untouched."""
    out = bytearray(data)
    for _ in range(flips):
        out[rng.randrange(16, len(out))] = rng.randrange(256)
    return bytes(out)


def bmp_header_size(bmp: bytes, size: int) -> bytes:
    """A BMP whose info-header size field is rewritten."""
    return bmp[:14] + struct.pack("<I", size) + bmp[18:]


def webp_length_lie(webp: bytes) -> bytes:
    """A WebP whose first chunk claims to be far longer than the file."""
    return webp[:16] + struct.pack("<I", 0x7FFFFFF0) + webp[20:]


def exif_rotated_jpeg(image: Image.Image) -> bytes:
    """A JPEG stored landscape with EXIF orientation 6 (display rotated 90° clockwise) and a GPS tag."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0)}
    return encode(image, "JPEG", exif=exif)


def main() -> None:
    """Write the corpus to a folder, for looking at it by hand."""
    parser = argparse.ArgumentParser(description="Write the hostile intake corpus to a folder.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    cases = generate_corpus(args.seed)
    for case in cases:
        (args.out_dir / case.name).write_bytes(case.data)
    print(f"{len(cases)} files written to {args.out_dir}")


if __name__ == "__main__":
    main()
