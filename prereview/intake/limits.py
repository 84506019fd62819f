"""Reading an upload in chunks with a hard byte limit (FastAPI and Starlette cap no upload size)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Iterable
from typing import overload


class FileTooLarge(ValueError):
    """An upload went past its byte limit; reading stopped at the first chunk beyond it."""

    code = "file_too_large"

    def __init__(self, *, max_bytes: int, received_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.received_bytes = received_bytes
        super().__init__(
            f"upload exceeds the limit of {max_bytes} bytes (stopped after {received_bytes} bytes)"
        )

    @property
    def max_mb(self) -> float:
        """The limit in MiB, for messages."""
        return self.max_bytes / 1048576


def _append(buffer: bytearray, chunk: bytes, max_bytes: int) -> None:
    if not isinstance(chunk, (bytes, bytearray, memoryview)):
        raise TypeError(f"upload chunks must be bytes, got {type(chunk).__name__}")
    if len(buffer) + len(chunk) > max_bytes:
        raise FileTooLarge(max_bytes=max_bytes, received_bytes=len(buffer) + len(chunk))
    buffer += chunk


def read_limited_sync(chunks: Iterable[bytes], max_bytes: int) -> bytes:
    """All bytes of ``chunks``, or FileTooLarge as soon as they exceed ``max_bytes``."""
    buffer = bytearray()
    for chunk in chunks:
        _append(buffer, chunk, max_bytes)
    return bytes(buffer)


async def read_limited_async(chunks: AsyncIterable[bytes] | Iterable[bytes], max_bytes: int) -> bytes:
    """All bytes of an async (or plain) iterable of chunks, or FileTooLarge past ``max_bytes``."""
    if not hasattr(chunks, "__aiter__"):
        return read_limited_sync(chunks, max_bytes)  # type: ignore[arg-type]
    buffer = bytearray()
    async for chunk in chunks:  # type: ignore[union-attr]
        _append(buffer, chunk, max_bytes)
    return bytes(buffer)


@overload
def read_limited(chunks: AsyncIterable[bytes], max_bytes: int) -> Awaitable[bytes]: ...
@overload
def read_limited(chunks: Iterable[bytes], max_bytes: int) -> bytes: ...
def read_limited(chunks: Iterable[bytes] | AsyncIterable[bytes], max_bytes: int) -> bytes | Awaitable[bytes]:
    """Read an upload under a byte limit: bytes for a plain iterable, an awaitable for an async one.

    ``await read_limited(request.stream(), limit)`` and ``read_limited(iter(lambda: f.read(65536), b""), limit)``
    both raise FileTooLarge (carrying ``max_bytes``) as soon as the limit is passed, without reading further.
    """
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    if hasattr(chunks, "__aiter__"):
        return read_limited_async(chunks, max_bytes)
    return read_limited_sync(chunks, max_bytes)  # type: ignore[arg-type]
