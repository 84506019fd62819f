"""File type detection from magic bytes only; names and declared content types are never trusted."""

from __future__ import annotations

from enum import StrEnum


class FileFormat(StrEnum):
    """Accepted upload formats; the value is the media type."""

    jpeg = "image/jpeg"
    png = "image/png"
    tiff = "image/tiff"
    webp = "image/webp"
    bmp = "image/bmp"
    pdf = "application/pdf"

    @property
    def pillow_format(self) -> str:
        """The Pillow plugin name that alone may open this format."""
        return _PILLOW_FORMATS[self]


_PILLOW_FORMATS = {
    FileFormat.jpeg: "JPEG",
    FileFormat.png: "PNG",
    FileFormat.tiff: "TIFF",
    FileFormat.webp: "WEBP",
    FileFormat.bmp: "BMP",
}

# Sizes of the BMP info headers Pillow can read (OS/2 v1, Windows v3, v4, v5 and the Adobe variants).
_BMP_INFO_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def detect_format(data: bytes) -> FileFormat | None:
    """The accepted format these bytes start with, or None."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return FileFormat.jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileFormat.png
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return FileFormat.tiff
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileFormat.webp
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_INFO_HEADER_SIZES:
        return FileFormat.bmp
    if head.startswith(b"%PDF-"):
        return FileFormat.pdf
    return None


def describe_magic(data: bytes) -> str:
    """A short English description of unrecognised leading bytes, for the clerk."""
    if not data:
        return "empty file"
    printable = data[:16].decode("ascii", "replace")
    printable = "".join(c if c.isprintable() else "." for c in printable)
    return f"unrecognised leading bytes {data[:8].hex(' ')} ({printable!r})"
