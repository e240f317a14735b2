"""Claim files: an upload streamed to the blob store while its envelope head is read (the caller's facility
scope checked on it before a byte is kept), then registered with the claims service; and who may see a file.
The API's upload and the BHXH page's upload both go through here."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from flask import g
from werkzeug.exceptions import RequestEntityTooLarge

from services.common.blobstore import CHUNK, BlobStore, Incomplete, StoredBlob, TooLarge, default_store
from services.common.claimfile import Head, WatchedStream
from services.common.contracts import claims as contract
from services.common.errors import DomainError, NotFound
from services.gateway.application.facilities import require_facility, scoped_facilities
from services.gateway.application.remote import rpc

DRAIN_BYTES = 64 * 1024 * 1024  # a refused upload is read to its end up to this much, then the connection drops
_store: BlobStore | None = None


def store() -> BlobStore:
    global _store
    if _store is None:
        _store = default_store()
    return _store


def check_head(head: Head) -> None:
    """The uploader's unit scope, on the facility the envelope really names (read as the claims service reads
    it): raised while the file streams in, so a refused file is never stored."""
    if not g.principal.scoped:
        return
    if head.facility is None:
        raise DomainError.one(
            "facility_unreadable",
            f"Không đọc được mã cơ sở KCB của tệp (THONGTINDONVI/MACSKCB): {head.why}. "
            "Tài khoản gắn với một đơn vị chỉ gửi được tệp ghi rõ cơ sở KCB ở phần đầu.",
            "MACSKCB",
            422,
        )
    require_facility(head.facility, "MACSKCB")


def store_upload(stream: Any, limit: int, expected_size: int | None = None) -> tuple[StoredBlob, Head]:
    """Stream a claim file to the blob store while its envelope head is read; the caller's scope is checked on
    that head before the file is kept. Refusals are DomainErrors with Vietnamese messages (field `file`)."""
    watched = WatchedStream(stream, check_head, expected_size=expected_size)
    try:
        blob = store().put(watched, limit=limit, expected_size=expected_size)
    except Incomplete:
        # The connection was cut before the announced length arrived: nothing is registered, the client resends.
        raise DomainError.one(
            "upload_incomplete", "Tệp hồ sơ gửi chưa hết (kết nối bị ngắt); hãy gửi lại.", "file", 400
        ) from None
    except (TooLarge, RequestEntityTooLarge):
        raise DomainError.one(
            "payload_too_large", f"Tệp hồ sơ vượt quá giới hạn {limit // (1024 * 1024)} MB.", "file", 413
        ) from None
    if blob.size == 0:
        raise DomainError.one("empty_file", "Tệp hồ sơ rỗng.", "file", 422)
    assert watched.head is not None  # the store read to the end
    return blob, watched.head


FILENAME_CHARS = 200


def shown_name(raw: str | None) -> str | None:
    """The name a file is listed under: what the uploader's computer called it, without its folders, in one
    Unicode form (a Mac sends decomposed letters), and without the invisible characters that could make a list
    show another name (bidi and other format or control characters); None when nothing is left."""
    if not raw:
        return None
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    return name[:FILENAME_CHARS] or None


def register(blob: StoredBlob, head: Head, filename: str | None = None) -> dict[str, Any]:
    """Register a stored file with the claims service, with the facility it was authorised for: the service
    fails the file (`envelope_facility_mismatch`, no claim counted) if the envelope it parses names another.
    `filename` (the page's form, the API's `?filename=`) is kept to be shown in the file lists (`shown_name`)."""
    name = shown_name(filename)
    return rpc("claims", "register_file", blob.sha256, blob.size, blob.name, g.principal.name, head.facility, name)


def drain(stream: Any, limit: int = DRAIN_BYTES) -> None:
    """Read what is left of a refused upload (up to `limit`), so the client gets the answer rather than a reset
    connection while it is still sending."""
    try:
        for _ in range(limit // CHUNK):
            if not stream.read(CHUNK):
                return
    except Exception:  # noqa: BLE001 - the client is gone or over the limit: nothing more to read
        return


def visible_file(status: dict[str, Any]) -> None:
    """A caller bound to a unit sees only files of facilities inside it."""
    scope = scoped_facilities()
    if scope is not None and status.get("facility_code") not in scope:
        raise NotFound([{"field": "id", "code": "unknown_file", "message": f"Không có tệp hồ sơ số {status['id']}."}])


def file_status(file_id: int) -> dict[str, Any]:
    """A file's status without its issues, for a caller who may see it (404 otherwise)."""
    status = rpc("claims", "file_status", file_id, 0, 0, None, None)
    visible_file(status)
    return status


def file_issues(file_id: int, code: str | None = None, severity: str | None = None) -> Iterator[dict[str, Any]]:
    """Every issue of a file, page by page from the claims service, optionally of one code or severity."""
    after = 0
    while True:
        page = rpc("claims", "file_issues", file_id, after, 2000)
        if not page["items"]:
            return
        for issue in page["items"]:
            if (code is None or issue["code"] == code) and (severity is None or issue["severity"] == severity):
                yield issue
        after = page["last_id"]


def record_assessments(req: dict[str, Any]) -> dict[str, Any]:
    """BHXH's results for claims of one facility the caller sees (`req` loaded by AssessmentRequestV1)."""
    body = contract.AssessmentRequestV1().dump(req)
    require_facility(body["facility_code"], "facility_code")
    return rpc("claims", "record_assessments", body["facility_code"], body["items"], g.principal.name)
