"""Content-addressed file storage under the data directory: a file's name is its SHA-256."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import BinaryIO

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
COPY_CHUNK_BYTES = 1024 * 1024


class BlobStore:
    """Immutable blobs in ``root/ab/cd/<sha256>``; storing the same bytes twice keeps one copy."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the blob with this hash lives."""
        if not SHA256_PATTERN.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_file(self, source: BinaryIO, sha256: str) -> Path:
        """Store the contents of ``source`` (already hashed by the caller) atomically; returns the path."""
        target = self.path(sha256)
        if self._reuse(target):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as temp:
                while chunk := source.read(COPY_CHUNK_BYTES):
                    temp.write(chunk)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return target

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not self._reuse(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            with os.fdopen(handle, "wb") as temp:
                temp.write(data)
            os.replace(temp_name, target)
        return sha256

    def read(self, sha256: str) -> bytes:
        """The bytes of a stored blob."""
        return self.path(sha256).read_bytes()

    @staticmethod
    def _reuse(target: Path) -> bool:
        """Mark a blob that is already stored as used now (see ``delete``); False when it is not stored."""
        try:
            os.utime(target)
        except FileNotFoundError:
            return False
        return True

    def delete(self, sha256: str, *, used_before: float | None = None) -> int | None:
        """Remove a stored blob; returns the bytes freed (0 when it was already gone).

        With ``used_before`` (a POSIX time), a blob stored or stored again at or after that time is kept
        and None is returned: an upload of the same bytes may be about to refer to it. The blob is moved
        aside before its time is read, so an upload in between either marked it first (it is kept) or
        finds it gone and stores it anew; a kept blob is moved back (same name, same bytes).
        """
        target = self.path(sha256)
        aside = target.with_name(f".purging-{secrets.token_hex(8)}")
        try:
            os.rename(target, aside)
        except FileNotFoundError:
            return 0
        stat = aside.stat()
        if used_before is not None and stat.st_mtime >= used_before:
            os.replace(aside, target)
            return None
        aside.unlink()
        return stat.st_size

    def unused_since(self, before: float) -> set[str]:
        """The hashes of stored blobs last stored or marked used before ``before`` (a POSIX time)."""
        found = set()
        for path in self.root.glob("??/??/*"):
            if not SHA256_PATTERN.match(path.name):
                continue  # a file being stored or deleted right now
            try:
                if path.stat().st_mtime < before:
                    found.add(path.name)
            except FileNotFoundError:
                continue
        return found

    def size(self, sha256: str) -> int:
        """The size of a stored blob in bytes (0 when it is not stored)."""
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return 0

    def exists(self, sha256: str) -> bool:
        """Whether a blob with this hash is stored."""
        return self.path(sha256).is_file()
