"""BHYT claim files (QĐ 130/4750, QĐ 4210), claims and BHXH assessments (the claims service).

An upload is streamed to the blob store (never through RPC, never whole in memory), then registered
with the claims service, which processes it asynchronously: the answer is 202 and the file's status
shows its progress.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, stream_with_context, url_for
from marshmallow import Schema, fields, validate

from services.claims.storage import BlobStore, Incomplete, TooLarge, default_store, max_upload_bytes
from services.common.contracts import claims as contract
from services.common.errors import DomainError, NotFound
from services.gateway.access import READ_ROLES, allow, require_facility, scoped_facilities
from services.gateway.api.common import load_args, load_json, rpc
from services.gateway.openapi import doc

bp = Blueprint("claims", __name__, url_prefix="/api/v1/claims")

XML_TYPES = ("application/xml", "text/xml")
_store: BlobStore | None = None


def store() -> BlobStore:
    global _store
    if _store is None:
        _store = default_store()
    return _store


# --- files ----------------------------------------------------------------------------------------


class FileStatusQuery(Schema):
    errors_limit = fields.Integer(load_default=100, validate=validate.Range(min=0, max=1000))
    errors_offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    code = fields.String(validate=validate.Length(max=40), metadata={"description": "only issues of this code"})
    severity = fields.String(validate=validate.OneOf(["critical", "warning"]))


class FileListQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    status = fields.String(validate=validate.OneOf(["processing", "done", "failed"]))


class UploadAnswer(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    sha256 = fields.String()
    duplicate = fields.Boolean()


@bp.post("/files")
@allow("bhxh", "admin")
@doc(response=UploadAnswer, status=202, content_type="application/xml", body={"type": "string", "format": "binary"})
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
        blob = store().put(request.stream, limit=limit, expected_size=request.content_length)
    except Incomplete:
        # The connection was cut before the announced length arrived: nothing is registered, the client resends.
        raise DomainError.one(
            "upload_incomplete", "Tệp hồ sơ gửi chưa hết (kết nối bị ngắt); hãy gửi lại.", None, 400
        ) from None
    except TooLarge:
        raise DomainError.one(
            "payload_too_large", f"Tệp hồ sơ vượt quá giới hạn {limit // (1024 * 1024)} MB.", None, 413
        ) from None
    if blob.size == 0:
        raise DomainError.one("empty_file", "Tệp hồ sơ rỗng.", None, 422)
    # The envelope names its facility (THONGTINDONVI/MACSKCB) near the top: a look at the head of the stored
    # file tells a caller bound to a unit whether it may send it, and the file's status has it from the start.
    facility = _envelope_facility(blob.name)
    if g.principal.scoped:
        require_facility(facility or "-----", "MACSKCB")
    out = rpc("claims", "register_file", blob.sha256, blob.size, blob.name, g.principal.name, facility)
    g.audit_details = {"file_id": out["id"], "sha256": blob.sha256, "size": blob.size, "duplicate": out["duplicate"]}
    resp = jsonify(out)
    resp.status_code = 202
    resp.headers["Location"] = url_for("claims.file_status", file_id=out["id"])
    return resp


_MACSKCB = re.compile(rb"<(?:[\w.-]+:)?MACSKCB>\s*([0-9A-Za-z]{5})\s*</")


def _envelope_facility(blob_name: str) -> str | None:
    with store().open(blob_name) as fh:
        head = fh.read(64 * 1024)
    m = _MACSKCB.search(head)
    return m.group(1).decode("ascii") if m else None


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
    """A file's status and counts while it runs, with a page of its errors and their counts by code."""
    q = load_args(FileStatusQuery())
    out = rpc("claims", "file_status", file_id, q["errors_limit"], q["errors_offset"], q.get("code"), q.get("severity"))
    _visible_file(out)
    return jsonify(out)


@bp.get("/files/<int:file_id>/errors.csv")
@allow(*READ_ROLES)
@doc()
def file_errors_csv(file_id: int) -> Any:
    """All the errors of a file as CSV (UTF-8 with BOM, for Excel), streamed page by page."""
    _visible_file(rpc("claims", "file_status", file_id, 0, 0, None, None))

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["record_index", "ma_lk", "table", "field", "code", "severity", "message"])
        yield "\ufeff" + buf.getvalue()
        after = 0
        while True:
            page = rpc("claims", "file_issues", file_id, after, 2000)
            if not page["items"]:
                return
            buf.seek(0)
            buf.truncate()
            for i in page["items"]:
                writer.writerow(
                    [i["record_index"], i["ma_lk"], i["table"], i["field"], i["code"], i["severity"], i["message"]]
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
    file_id = fields.Integer()
    ma_lk = fields.String(validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


@bp.get("")
@allow(*READ_ROLES)
@doc(query=ClaimsQuery)
def list_claims() -> Any:
    """Claims by facility, period, status, card, diagnosis; personal fields masked for roles that may not see them."""
    q = load_args(ClaimsQuery())
    if q.get("facility"):
        require_facility(q["facility"], "facility")
    return jsonify(rpc("claims", "list_claims", g.principal.sees_personal_data, scoped_facilities(), **q))


@bp.get("/records/<facility>/<ma_lk>")
@allow(*READ_ROLES)
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
