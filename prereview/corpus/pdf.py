"""Digital (text-layer) PDF documents, as produced by an online form: the fast path that needs no OCR."""

from __future__ import annotations


def text_pdf(lines: list[str], *, font_size: int = 16) -> bytes:
    """A one-page A4 PDF whose Chinese lines are a real text layer (Adobe-GB1 STSong-Light, not embedded)."""
    step = int(font_size * 1.8)
    content = b"".join(
        b"BT /F1 %d Tf 72 %d Td <%s> Tj ET\n" % (font_size, 770 - step * index, line.encode("utf-16-be").hex().encode())
        for index, line in enumerate(lines)
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 << /Type /Font "
        b"/Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [<< /Type /Font "
        b"/Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) "
        b"/Supplement 2 >> >>] >> >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
