"""The audit log: every write through the API (refused ones too), newest first, for admins only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select

from services.gateway.access import allow
from services.gateway.api.common import PageQuery, load_args, ytcs
from services.gateway.models import AuditEntry
from services.gateway.openapi import doc

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


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


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


@bp.get("")
@allow("admin")
@doc(query=AuditQuery, response=AuditPage)
def list_audit() -> Any:
    """The audit log, newest first: who wrote what, when, from where, with which request id.

    Filter by `actor`, `action` (endpoint name), `status`, `request_id`, `since`/`until`; paged.
    """
    q = load_args(AuditQuery())
    conditions = []
    for name in ("actor", "action", "status", "request_id"):
        if q.get(name) is not None:
            conditions.append(getattr(AuditEntry, name) == q[name])
    # In UTC, as stored (SQLite keeps no offset: an aware moment must be converted, not just stripped).
    if q.get("since"):
        conditions.append(AuditEntry.at >= q["since"].astimezone(UTC))
    if q.get("until"):
        conditions.append(AuditEntry.at < q["until"].astimezone(UTC))
    page, per_page = q["page"], q["per_page"]
    with ytcs().session() as s:
        total = s.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
        rows = s.scalars(
            select(AuditEntry)
            .where(*conditions)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
    items = [
        {
            "id": r.id,
            "at": _iso(r.at),
            "actor": r.actor,
            "role": r.role,
            "action": r.action,
            "method": (r.details or {}).get("method"),
            "target": r.target,
            "status": r.status,
            "remote_addr": r.remote_addr,
            "request_id": r.request_id,
            "details": r.details or {},
        }
        for r in rows
    ]
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total})
