"""The claim blob store: where uploaded claim files live before (and after) they are processed.

A port with one implementation. The gateway puts an upload's bytes here before it tells the claims service
anything (uploads are stored before processing), and the claims service reads them back by name; neither
imports the other, they share this module and a volume. `FilesystemBlobStore` keeps content-addressed files
under one folder (`YTCS_BLOB_DIR`); across machines that folder is a shared volume (NFS, a ReadWriteMany
claim in Kubernetes: docs/deployment.md), or another implementation of `BlobStore` (an S3 bucket) takes its
place without either service changing.

A file is streamed to a temporary name while its SHA-256 is computed, flushed to disk (fsync), then renamed
atomically to its digest: a blob that exists is complete, and the same bytes sent twice land on the same name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1 << 20


class TooLarge(Exception):
    """The stream went past the store's size limit; nothing was kept."""


class Incomplete(Exception):
    """The stream ended before the size it announced (a client cut mid-upload); nothing was kept."""


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class StoredBlob:
    name: str  # the hex SHA-256 of the content
    sha256: str
    size: int


def max_upload_bytes() -> int:
    """Largest claim file accepted (`YTCS_MAX_CLAIM_FILE_MB`, default 2 GiB): a province's month is hundreds of MB."""
    return int(os.environ.get("YTCS_MAX_CLAIM_FILE_MB", "2048")) * 1024 * 1024


class BlobStore(Protocol):
    """What the gateway and the claims service need of the store."""

    def put(self, stream: Readable, limit: int | None = None, expected_size: int | None = None) -> StoredBlob: ...
    def open(self, name: str) -> BinaryIO: ...
    def exists(self, name: str) -> bool: ...
    def size(self, name: str) -> int: ...


class FilesystemBlobStore:
    """Content-addressed files under one folder (`config.blob_dir()`)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def put(self, stream: Readable, limit: int | None = None, expected_size: int | None = None) -> StoredBlob:
        """Copy `stream` to the store in chunks (memory stays at one chunk) and return its digest and size.

        `expected_size` (the request's Content-Length) is checked before the blob is named: under gunicorn the
        WSGI input of a cut connection simply ends early, so a truncated upload would otherwise be stored and
        registered as if it were the whole file (found by tests/faults)."""
        digest = hashlib.sha256()
        size = 0
        tmp = self.tmp / f"{uuid.uuid4().hex}.part"
        try:
            with open(tmp, "wb") as out:
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise TooLarge(size)
                    digest.update(chunk)
                    out.write(chunk)
                if expected_size is not None and size != expected_size:
                    raise Incomplete(size)
                out.flush()
                os.fsync(out.fileno())
            name = digest.hexdigest()
            # Same bytes, same name: replacing an existing blob with identical content is harmless.
            os.replace(tmp, self.root / name)
            self._sync_dir()
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return StoredBlob(name=name, sha256=name, size=size)

    def open(self, name: str) -> BinaryIO:
        return open(self._path(name), "rb")

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def size(self, name: str) -> int:
        return self._path(name).stat().st_size

    def _path(self, name: str) -> Path:
        # Names are digests we made; refuse anything else so a stored name can never escape the folder.
        if len(name) != 64 or any(c not in "0123456789abcdef" for c in name):
            raise ValueError(f"not a blob name: {name!r}")
        return self.root / name

    def _sync_dir(self) -> None:
        """Make the rename itself durable (POSIX: fsync the directory)."""
        if os.name != "posix":
            return
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def default_store() -> BlobStore:
    from services.common.config import blob_dir

    return FilesystemBlobStore(blob_dir())
