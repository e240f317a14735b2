"""Request lifecycle shared by every endpoint: request id, HTTP metrics, Idempotency-Key, audit log."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from services.common import logs
from services.common.errors import DomainError
from services.common.outbox import utcnow
from services.gateway import access
from services.gateway.models import AuditEntry, IdempotentResponse

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "ytcs_http_requests_total", "HTTP requests answered by the gateway", ["endpoint", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "ytcs_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30),
)

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
IDEMPOTENCY_TTL = timedelta(hours=48)  # longer than any client's retry window
# Endpoints whose body is streamed to storage: the key alone identifies the request.
STREAMED = {"claims.upload_file"}


def _actor() -> str:
    principal = g.get("principal")
    return principal.name if principal else "anonymous"


def install(app: Flask) -> None:
    ytcs = app.extensions["ytcs"]

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        logs.correlation_id.set(g.request_id)
        ytcs.clients.set_correlation_id(g.request_id)

    def idempotency_begin() -> Response | None:
        """Runs after authentication (registered after access.enforce)."""
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or g.get("principal") is None:
            return None
        if len(key) > 200:
            raise DomainError.one("invalid", "Idempotency-Key dài tối đa 200 ký tự.", "Idempotency-Key", 400)
        digest = "" if request.endpoint in STREAMED else hashlib.sha256(request.get_data(cache=True)).hexdigest()
        with ytcs.session() as s:
            s.execute(delete(IdempotentResponse).where(IdempotentResponse.created_at < utcnow() - IDEMPOTENCY_TTL))
            s.commit()
            row = s.scalar(
                select(IdempotentResponse).where(IdempotentResponse.actor == _actor(), IdempotentResponse.key == key)
            )
            if row is None:
                try:
                    s.add(
                        IdempotentResponse(
                            actor=_actor(), key=key, method_path=f"POST {request.path}", request_hash=digest
                        )
                    )
                    s.commit()
                    g.idempotency_key = key
                    return None
                except IntegrityError:
                    s.rollback()
                    row = s.scalar(
                        select(IdempotentResponse).where(
                            IdempotentResponse.actor == _actor(), IdempotentResponse.key == key
                        )
                    )
            if row is None or row.method_path != f"POST {request.path}" or row.request_hash != digest:
                raise DomainError.one(
                    "idempotency_key_reused", "Idempotency-Key này đã dùng cho một yêu cầu khác.", "Idempotency-Key"
                )
            if row.status is None:
                raise DomainError.one(
                    "request_in_progress", "Yêu cầu với Idempotency-Key này đang được xử lý.", "Idempotency-Key", 409
                )
            g.idempotent_replay = True
            return Response(
                row.body, status=row.status, mimetype="application/json", headers={"Idempotent-Replay": "true"}
            )

    # Order matters: who is calling is known before the key (scoped per caller) is looked up.
    app.before_request(access.enforce)
    app.before_request(idempotency_begin)

    @app.after_request
    def finish(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        key = g.pop("idempotency_key", None)
        if key is not None:
            with ytcs.session() as s:
                row = s.scalar(
                    select(IdempotentResponse).where(
                        IdempotentResponse.actor == _actor(), IdempotentResponse.key == key
                    )
                )
                if row is not None:
                    if response.status_code >= 500:
                        s.delete(row)  # a failure the client may retry with the same key
                    else:
                        row.status, row.body = response.status_code, response.get_data(as_text=True)
                    s.commit()
        if request.method in WRITE_METHODS and endpoint != "unmatched":
            _audit(ytcs, endpoint, response.status_code)
        HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if "started" in g:
            HTTP_LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - g.started)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response


def _audit(ytcs: Any, endpoint: str, status: int) -> None:
    principal = g.get("principal")
    details: dict[str, Any] = {"method": request.method}
    if g.get("idempotent_replay"):
        details["idempotent_replay"] = True
    if g.get("audit_details"):
        details.update(g.audit_details)
    with ytcs.session() as s:
        s.add(
            AuditEntry(
                at=utcnow(),
                actor=principal.name if principal else g.get("audit_actor", "anonymous"),
                role=principal.role if principal else "-",
                action=endpoint,
                target=request.path,
                status=status,
                remote_addr=request.headers.get("X-Forwarded-For", request.remote_addr),
                request_id=g.get("request_id", ""),
                details=details,
            )
        )
        s.commit()
