"""BHYT claim files (QĐ 130/4750, QĐ 4210), claims and BHXH assessments (the claims service).

An upload is streamed to the blob store (never through RPC, never whole in memory), then registered
with the claims service, which processes it asynchronously: the answer is 202 and the file's status
shows its progress.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, stream_with_context, url_for
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge

from services.common.blobstore import (
    CHUNK,
    BlobStore,
    Incomplete,
    StoredBlob,
    TooLarge,
    default_store,
    max_upload_bytes,
)
from services.common.claimfile import Head, WatchedStream
from services.common.contracts import claims as contract
from services.common.errors import DomainError, NotFound
from services.gateway import hooks
from services.gateway.access import (
    HEALTH_ROLES,
    READ_ROLES,
    allow,
    file_status_for_role,
    require_facility,
    scoped_facilities,
)
from services.gateway.api.common import load_args, load_json, rpc
from services.gateway.openapi import doc

bp = Blueprint("claims", __name__, url_prefix="/api/v1/claims")

XML_TYPES = ("application/xml", "text/xml")
DRAIN_BYTES = 64 * 1024 * 1024  # a refused upload is read to its end up to this much, then the connection drops
_store: BlobStore | None = None


def store() -> BlobStore:
    global _store
    if _store is None:
        _store = default_store()
    return _store


# --- files ----------------------------------------------------------------------------------------


class FileStatusQuery(Schema):
    errors_limit = fields.Integer(load_default=100, validate=validate.Range(min=0, max=1000))
    errors_offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    code = fields.String(validate=validate.Length(max=40), metadata={"description": "only issues of this code"})
    severity = fields.String(validate=validate.OneOf(["critical", "warning"]))


class FileListQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    status = fields.String(validate=validate.OneOf(["processing", "done", "failed"]))


class UploadAnswer(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    sha256 = fields.String()
    duplicate = fields.Boolean()


@bp.post("/files")
@allow("bhxh", "admin")
@doc(
    response=UploadAnswer,
    status=202,
    content_type="application/xml",
    body={"type": "string", "format": "binary"},
    responses={
        403: "facility_forbidden: cơ sở KCB của tệp (MACSKCB, đọc như dịch vụ hồ sơ đọc) ngoài phạm vi được giao; "
        "tệp không được lưu",
        422: "facility_unreadable (tài khoản gắn đơn vị, không đọc được MACSKCB ở phần đầu tệp), empty_file, "
        "idempotency_key_reused (cùng Idempotency-Key với một tệp khác)",
    },
)
def upload_file() -> Any:
    """Receive a claim file (GIAMDINHHS envelope): stored durably first, processed asynchronously."""
    if request.mimetype not in XML_TYPES:
        raise DomainError.one(
            "unsupported_media_type",
            "Tệp hồ sơ phải gửi với Content-Type: application/xml (hoặc text/xml).",
            None,
            415,
        )
    limit = max_upload_bytes()
    request.max_content_length = limit  # this view only: every other body keeps the app's 1 MiB limit
    try:
        blob, head = store_upload(request.stream, limit, request.content_length)
    except DomainError:
        drain(request.stream)
        raise
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        # The key names this file by its digest: the same key with other bytes is refused, not replayed.
        named = hashlib.sha256(request.query_string + b"\n" + blob.sha256.encode()).hexdigest()
        replay = hooks.begin_idempotent(key, named)
        if replay is not None:
            return replay
    out = register(blob, head)
    g.audit_details = {"file_id": out["id"], "sha256": blob.sha256, "size": blob.size, "duplicate": out["duplicate"]}
    resp = jsonify(out)
    resp.status_code = 202
    resp.headers["Location"] = url_for("claims.file_status", file_id=out["id"])
    return resp


def _check_head(head: Head) -> None:
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
    watched = WatchedStream(stream, _check_head, expected_size=expected_size)
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


def register(blob: StoredBlob, head: Head, filename: str | None = None) -> dict[str, Any]:
    """Register a stored file with the claims service, with the facility it was authorised for: the service
    fails the file (`envelope_facility_mismatch`, no claim counted) if the envelope it parses names another.
    `filename` (the page's upload sends it) is kept to be shown in the file lists."""
    return rpc(
        "claims", "register_file", blob.sha256, blob.size, blob.name, g.principal.name, head.facility, filename
    )


def drain(stream: Any, limit: int = DRAIN_BYTES) -> None:
    """Read what is left of a refused upload (up to `limit`), so the client gets the answer rather than a reset
    connection while it is still sending."""
    try:
        for _ in range(limit // CHUNK):
            if not stream.read(CHUNK):
                return
    except Exception:  # noqa: BLE001 - the client is gone or over the limit: nothing more to read
        return


def _visible_file(status: dict[str, Any]) -> None:
    """A caller bound to a unit sees only files of facilities inside it."""
    scope = scoped_facilities()
    if scope is not None and status.get("facility_code") not in scope:
        raise NotFound([{"field": "id", "code": "unknown_file", "message": f"Không có tệp hồ sơ số {status['id']}."}])


@bp.get("/files")
@allow(*READ_ROLES)
@doc(query=FileListQuery)
def list_files() -> Any:
    """Claim files received, newest first, with their status and counts."""
    q = load_args(FileListQuery())
    return jsonify(rpc("claims", "list_files", q["page"], q["per_page"], scoped_facilities(), q.get("status")))


@bp.get("/files/<int:file_id>")
@allow(*READ_ROLES)
@doc(query=FileStatusQuery, response=contract.FileStatusV1)
def file_status(file_id: int) -> Any:
    """A file's status and counts while it runs, with a page of its errors and their counts by code (the
    record-by-record errors quote health data: for admin and bhxh only, others get the counts)."""
    q = load_args(FileStatusQuery())
    out = rpc("claims", "file_status", file_id, q["errors_limit"], q["errors_offset"], q.get("code"), q.get("severity"))
    _visible_file(out)
    return jsonify(file_status_for_role(out))


CSV_SEVERITY = {"critical": "Nghiêm trọng (từ chối hồ sơ)", "warning": "Cảnh báo"}
CSV_FORMAT_NOTE = "Ghi chú định dạng"  # a repair the reader made; it rejects nothing


@bp.get("/files/<int:file_id>/errors.csv")
@allow(*HEALTH_ROLES)
@doc()
def file_errors_csv(file_id: int) -> Any:
    """All the errors of a file as CSV (UTF-8 with BOM, for Excel), streamed page by page; first the format notes
    (what the reader repaired: `Mức độ` «Ghi chú định dạng», `Mã lỗi` the note's kind), which reject nothing."""
    status = rpc("claims", "file_status", file_id, 0, 0, None, None)
    _visible_file(status)

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        # Headings for people, as in the Excel report; `Mã lỗi` keeps the stable code for programs.
        writer.writerow(["STT hồ sơ", "MA_LK", "Bảng", "Trường", "Mã lỗi", "Mức độ", "Nội dung lỗi"])
        for n in status.get("format_notes") or ():
            writer.writerow(["", "", n["table"] or "", "", n["kind"], CSV_FORMAT_NOTE, n["message"]])
        yield "\ufeff" + buf.getvalue()
        after = 0
        while True:
            page = rpc("claims", "file_issues", file_id, after, 2000)
            if not page["items"]:
                return
            buf.seek(0)
            buf.truncate()
            for i in page["items"]:
                severity = CSV_SEVERITY.get(i["severity"], i["severity"])
                writer.writerow(
                    [i["record_index"], i["ma_lk"], i["table"], i["field"], i["code"], severity, i["message"]]
                )
            yield buf.getvalue()
            after = page["last_id"]

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=claims-file-{file_id}-errors.csv"},
    )


# --- claims ---------------------------------------------------------------------------------------


class ClaimsQuery(Schema):
    facility = fields.String(validate=contract.FACILITY, metadata={"description": "MA_CSKCB"})
    period = fields.String(metadata={"description": "YYYY, YYYY-Qn or YYYY-MM of NAM_QT/THANG_QT"})
    status = fields.String(validate=validate.OneOf(["accepted", "rejected", "pending", "assessed"]))
    card = fields.String(validate=validate.Length(max=255), metadata={"description": "MA_THE_BHYT"})
    diagnosis = fields.String(validate=validate.Length(max=10), metadata={"description": "ICD-10, a prefix too"})
    file_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))  # BIGINT: no overflow behind
    ma_lk = fields.String(validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


@bp.get("")
@allow(*HEALTH_ROLES)
@doc(query=ClaimsQuery)
def list_claims() -> Any:
    """Claims by facility, period, status, card, diagnosis: health data, for admin and bhxh only."""
    q = load_args(ClaimsQuery())
    if q.get("facility"):
        require_facility(q["facility"], "facility")
    return jsonify(rpc("claims", "list_claims", g.principal.sees_personal_data, scoped_facilities(), **q))


@bp.get("/records/<facility>/<ma_lk>")
@allow(*HEALTH_ROLES)
@doc()
def get_claim(facility: str, ma_lk: str) -> Any:
    """One claim of a facility with its lines, other tables, issues and assessment history."""
    require_facility(facility, "facility")
    return jsonify(rpc("claims", "get_claim", facility, ma_lk, g.principal.sees_personal_data, scoped_facilities()))


# --- assessments (giám định) ----------------------------------------------------------------------


@bp.post("/assessments")
@allow("bhxh", "admin")
@doc(body=contract.AssessmentRequestV1, response=contract.AssessmentBatchV1, status=201)
def record_assessments() -> Any:
    """BHXH's results for claims of one facility (bulk; partial approval needs a reason from the catalog)."""
    req = contract.AssessmentRequestV1().dump(load_json(contract.AssessmentRequestV1()))
    require_facility(req["facility_code"], "facility_code")
    out = rpc("claims", "record_assessments", req["facility_code"], req["items"], g.principal.name)
    g.audit_details = {"batch_id": out["id"], "facility_code": out["facility_code"], "assessed": out["assessed"]}
    return jsonify(out), 201


@bp.get("/reasons")
@allow(*READ_ROLES)
@doc()
def reasons() -> Any:
    """The catalog of reasons for refusing (từ chối thanh toán) or taking back (xuất toán) claim money."""
    return jsonify({"items": rpc("claims", "reasons")})
