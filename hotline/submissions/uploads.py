"""Streaming multipart parser for uploads: each file is hashed and size-checked while it arrives.

FastAPI's own form parsing reads the whole body before the handler runs; this stops at the first
chunk past a file's limit and at the first bytes that are not an accepted format.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from prereview.intake import FileFormat, detect_format
from hotline.submissions.errors import (
    FileTooLargeError,
    MalformedUploadError,
    TooManyFilesError,
    UnsupportedFileError,
)

SPOOL_MAX_BYTES = 1024 * 1024
DETECT_BYTES = 32
MAX_FIELDS = 50
MAX_FILENAME_CHARS = 200


@dataclass
class UploadedFile:
    """One received file: spooled bytes, their SHA-256 and the detected format."""

    field_name: str
    filename: str
    spool: Any
    size_bytes: int = 0
    sha256: str = ""
    media_type: str = ""

    def read(self) -> bytes:
        """All bytes of the file."""
        self.spool.seek(0)
        return self.spool.read()

    def close(self) -> None:
        """Drop the spooled bytes."""
        self.spool.close()


@dataclass
class ParsedUpload:
    """Text fields (a name may repeat, e.g. checkboxes) and files of one multipart request."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def first(self, name: str, default: str = "") -> str:
        """The first value of a text field, stripped."""
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def close(self) -> None:
        """Drop every spooled file."""
        for upload in self.files:
            upload.close()


def clean_filename(name: str) -> str:
    """A display-safe file name: no path, no control characters, bounded length."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    return name.strip()[:MAX_FILENAME_CHARS] or "upload"


class _Receiver:
    """python-multipart callbacks collecting fields and files under limits."""

    def __init__(self, *, max_file_bytes: int, max_files: int, max_field_chars: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.max_field_chars = max_field_chars
        self.result = ParsedUpload()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field_name = ""
        self._file: UploadedFile | None = None
        self._hash: Any = None
        self._head = b""
        self._data = bytearray()
        self._field_count = 0

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._file = None
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise MalformedUploadError("上传内容格式有误（缺少字段名）/ multipart part without a name")
        self._field_name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            filename = clean_filename(options[b"filename"].decode("utf-8", "replace"))
            self._file = UploadedFile(self._field_name, filename, SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES))
            self._hash = hashlib.sha256()
            self._head = b""
        else:
            self._field_count += 1
            if self._field_count > MAX_FIELDS:
                raise MalformedUploadError(f"表单字段过多 / more than {MAX_FIELDS} form fields")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        upload = self._file
        if upload is None:
            self._data += chunk
            if len(self._data) > self.max_field_chars * 4:
                raise MalformedUploadError(
                    f"字段 {self._field_name} 过长 / field {self._field_name} longer than {self.max_field_chars} characters"
                )
            return
        upload.size_bytes += len(chunk)
        if upload.size_bytes > self.max_file_bytes:
            upload.close()
            raise FileTooLargeError(
                f"文件“{upload.filename}”超过 {self.max_file_bytes / 1048576:g} MB 的大小限制，请压缩或拆分后重新上传。"
                f" / file exceeds {self.max_file_bytes} bytes"
            )
        if len(self._head) < DETECT_BYTES:
            self._head += chunk[: DETECT_BYTES - len(self._head)]
            if len(self._head) >= DETECT_BYTES:
                self._check_format(upload)
        self._hash.update(chunk)
        upload.spool.write(chunk)

    def _check_format(self, upload: UploadedFile) -> FileFormat:
        fmt = detect_format(self._head)
        if fmt is None:
            upload.close()
            raise UnsupportedFileError(
                f"不支持文件“{upload.filename}”的格式。请上传 JPG、PNG、TIFF、WebP、BMP 图片或 PDF 文件。"
                " / unsupported file type"
            )
        upload.media_type = fmt.value
        return fmt

    def on_part_end(self) -> None:
        upload = self._file
        if upload is None:
            text = self._data.decode("utf-8", "replace")
            if len(text) > self.max_field_chars:
                raise MalformedUploadError(
                    f"字段 {self._field_name} 过长 / field {self._field_name} longer than {self.max_field_chars} characters"
                )
            self.result.fields.setdefault(self._field_name, []).append(text)
            return
        if upload.size_bytes == 0:
            upload.close()  # an empty file input: the citizen chose nothing
            return
        if not upload.media_type:
            self._check_format(upload)
        upload.sha256 = self._hash.hexdigest()
        self.result.files.append(upload)
        if len(self.result.files) > self.max_files:
            raise TooManyFilesError(f"一次最多上传 {self.max_files} 个文件 / at most {self.max_files} files")


async def parse_upload(
    *,
    content_type: str,
    stream: AsyncIterator[bytes],
    max_file_bytes: int,
    max_files: int,
    max_field_chars: int,
) -> ParsedUpload:
    """Read a multipart body chunk by chunk; raises a ``HotlineError`` at the first broken limit."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise MalformedUploadError("请以 multipart/form-data 上传 / expected a multipart/form-data body")
    receiver = _Receiver(max_file_bytes=max_file_bytes, max_files=max_files, max_field_chars=max_field_chars)
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
        },
    )
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        receiver.result.close()
        raise MalformedUploadError("上传内容格式有误 / malformed multipart body") from None
    except BaseException:
        receiver.result.close()
        if receiver._file is not None:
            receiver._file.close()
        raise
    return receiver.result
