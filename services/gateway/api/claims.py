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

from services.common.blobstore import max_upload_bytes
from services.common.contracts import claims as contract
from services.common.errors import DomainError
from services.gateway import hooks
from services.gateway.api.common import load_args, load_json, rpc
from services.gateway.api.schemas.claims import ClaimsQuery, FileListQuery, FileStatusQuery, UploadAnswer, UploadQuery
from services.gateway.application import claims
from services.gateway.application.access import HEALTH_ROLES, READ_ROLES, allow, file_status_for_role
from services.gateway.application.facilities import require_facility, scoped_facilities
from services.gateway.openapi import doc

bp = Blueprint("claims", __name__, url_prefix="/api/v1/claims")

XML_TYPES = ("application/xml", "text/xml")
# --- files ----------------------------------------------------------------------------------------


@bp.post("/files")
@allow("bhxh", "admin")
@doc(
    query=UploadQuery,
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
    try:  # refused before a byte is kept; the rest of the body is read so the client gets the answer
        if request.mimetype not in XML_TYPES:
            raise DomainError.one(
                "unsupported_media_type",
                "Tệp hồ sơ phải gửi với Content-Type: application/xml (hoặc text/xml).",
                None,
                415,
            )
        q = load_args(UploadQuery())
    except DomainError:
        claims.drain(request.stream)
        raise
    limit = max_upload_bytes()
    request.max_content_length = limit  # this view only: every other body keeps the app's 1 MiB limit
    try:
        blob, head = claims.store_upload(request.stream, limit, request.content_length)
    except DomainError:
        claims.drain(request.stream)
        raise
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        # The key names this file by its digest: the same key with other bytes is refused, not replayed.
        named = hashlib.sha256(request.query_string + b"\n" + blob.sha256.encode()).hexdigest()
        replay = hooks.begin_idempotent(key, named)
        if replay is not None:
            return replay
    out = claims.register(blob, head, q.get("filename"))
    g.audit_details = {"file_id": out["id"], "sha256": blob.sha256, "size": blob.size, "duplicate": out["duplicate"]}
    resp = jsonify(out)
    resp.status_code = 202
    resp.headers["Location"] = url_for("claims.file_status", file_id=out["id"])
    return resp


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
    claims.visible_file(out)
    return jsonify(file_status_for_role(out))


CSV_SEVERITY = {"critical": "Nghiêm trọng (từ chối hồ sơ)", "warning": "Cảnh báo"}
CSV_FORMAT_NOTE = "Ghi chú định dạng"  # a repair the reader made; it rejects nothing


@bp.get("/files/<int:file_id>/errors.csv")
@allow(*HEALTH_ROLES)
@doc()
def file_errors_csv(file_id: int) -> Any:
    """All the errors of a file as CSV (UTF-8 with BOM, for Excel), streamed page by page; first the format notes
    (what the reader repaired: `Mức độ` «Ghi chú định dạng», `Mã lỗi` the note's kind), which reject nothing."""
    status = claims.file_status(file_id)

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
    out = claims.record_assessments(load_json(contract.AssessmentRequestV1()))
    g.audit_details = {"batch_id": out["id"], "facility_code": out["facility_code"], "assessed": out["assessed"]}
    return jsonify(out), 201


@bp.get("/reasons")
@allow(*READ_ROLES)
@doc()
def reasons() -> Any:
    """The catalog of reasons for refusing (từ chối thanh toán) or taking back (xuất toán) claim money."""
    return jsonify({"items": rpc("claims", "reasons")})
