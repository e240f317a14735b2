"""The blob store: bytes on disk first, named by their SHA-256, never half-written."""

from __future__ import annotations

import hashlib
import io

import pytest

from services.common.blobstore import FilesystemBlobStore, TooLarge


class Trickle(io.RawIOBase):
    """A stream that hands out a few bytes at a time, like a slow upload."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self.data, self.pos, self.step = data, 0, step

    def read(self, size: int = -1) -> bytes:
        chunk = self.data[self.pos : self.pos + min(self.step, size if size > 0 else self.step)]
        self.pos += len(chunk)
        return chunk


def test_put_names_the_blob_by_its_digest(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    data = b"<GIAMDINHHS/>" * 1000
    blob = store.put(Trickle(data))
    assert blob.sha256 == blob.name == hashlib.sha256(data).hexdigest()
    assert blob.size == len(data) == store.size(blob.name)
    with store.open(blob.name) as fh:
        assert fh.read() == data
    assert store.put(io.BytesIO(data)) == blob  # the same bytes land on the same name
    assert list((tmp_path / "tmp").iterdir()) == []


def test_too_large_keeps_nothing(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    with pytest.raises(TooLarge):
        store.put(io.BytesIO(b"x" * 5000), limit=4096)
    assert [p.name for p in tmp_path.iterdir()] == ["tmp"]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_names_that_are_not_digests_are_refused(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    for name in ("../etc/passwd", "a" * 63, "A" * 64):
        with pytest.raises(ValueError):
            store.open(name)
