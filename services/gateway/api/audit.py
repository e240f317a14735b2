"""The audit log: every write through the API (refused ones too), newest first, for admins only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import func, select

from services.gateway.api.common import load_args, ytcs
from services.gateway.api.schemas.audit import AuditPage, AuditQuery
from services.gateway.application.access import allow
from services.gateway.models import AuditEntry
from services.gateway.openapi import doc

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


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
    if q.get("since"):  # aware (AwareDateTime); the Instant column compares it as the moment it is
        conditions.append(AuditEntry.at >= q["since"])
    if q.get("until"):
        conditions.append(AuditEntry.at < q["until"])
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
            "at": r.at.isoformat(),
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
