"""Request and response schemas of api/audit.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.gateway.api.common import PageQuery


class AuditQuery(PageQuery):
    actor = fields.String(
        validate=validate.Length(min=1, max=140), metadata={"description": "Exact actor", "example": "token:ketoan"}
    )
    action = fields.String(
        validate=validate.Length(min=1, max=80),
        metadata={"description": "Endpoint name, e.g. finance.create_allocation", "example": "facilities.create"},
    )
    status = fields.Integer(validate=validate.Range(min=100, max=599), metadata={"example": 201})
    request_id = fields.String(validate=validate.Length(min=1, max=64))
    since = fields.AwareDateTime(
        default_timezone=UTC, metadata={"description": "From this moment (ISO 8601)", "example": "2024-07-01T00:00:00Z"}
    )
    until = fields.AwareDateTime(
        default_timezone=UTC,
        metadata={"description": "Before this moment (ISO 8601)", "example": "2024-08-01T00:00:00Z"},
    )

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError("since phải trước until.", "until")


class AuditOut(Schema):
    id = fields.Integer(required=True, metadata={"example": 1042})
    at = fields.String(required=True, metadata={"example": "2024-07-15T08:30:12.345678+00:00"})
    actor = fields.String(required=True, metadata={"example": "user:ketoan.vinhthuan"})
    role = fields.String(required=True, metadata={"example": "finance"})
    action = fields.String(required=True, metadata={"example": "finance.create_allocation"})
    method = fields.String(allow_none=True, required=True, metadata={"example": "POST"})
    target = fields.String(required=True, metadata={"example": "/api/v1/allocations"})
    status = fields.Integer(required=True, metadata={"example": 201})
    remote_addr = fields.String(allow_none=True, required=True, metadata={"example": "10.0.0.12"})
    request_id = fields.String(required=True, metadata={"example": "5f0c2a9e41b34c8d9a7e0f1b2c3d4e5f"})
    details = fields.Dict(required=True, metadata={"example": {"method": "POST", "result_id": 17}})


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditOut), required=True)
    page = fields.Integer(required=True, metadata={"example": 1})
    per_page = fields.Integer(required=True, metadata={"example": 50})
    total = fields.Integer(required=True, metadata={"example": 1})
