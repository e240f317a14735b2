"""The audit log: every write through the API (refused ones too), newest first, for admins only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import func, select

from services.gateway.api.common import load_args, ytcs
from services.gateway.api.schemas.audit import AuditPage, AuditQuery
from services.gateway.application.access import allow
from services.gateway.models import AuditEntry
from services.gateway.openapi import doc

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


def _iso(at: datetime) -> str:
    return at.isoformat()


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
