"""Request and response schemas of api/claims.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.contracts import claims as contract


class FileStatusQuery(Schema):
    errors_limit = fields.Integer(load_default=100, validate=validate.Range(min=0, max=1000))
    errors_offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    code = fields.String(validate=validate.Length(max=40), metadata={"description": "only issues of this code"})
    severity = fields.String(validate=validate.OneOf(["critical", "warning"]))


class FileListQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    status = fields.String(validate=validate.OneOf(["processing", "done", "failed"]))


class UploadQuery(Schema):
    filename = fields.String(
        validate=validate.Length(max=1000),
        metadata={
            "description": "the name the file is listed under, as the uploader's computer named it (folders, bidi "
            "and other invisible characters are dropped; 200 characters are kept)",
            "example": "91003_2024_Q3.xml",
        },
    )


class UploadAnswer(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    sha256 = fields.String()
    duplicate = fields.Boolean()


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


class FileErrorsQuery(Schema):
    """The filters of a file's errors workbook: those of the file status."""

    code = FileStatusQuery().fields["code"]
    severity = FileStatusQuery().fields["severity"]
