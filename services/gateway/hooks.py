"""Request lifecycle shared by every endpoint: request id, size limits, authentication (access.enforce),
Idempotency-Key, masking of personal data, audit log, HTTP metrics, security headers.

Order of the before-request hooks matters: the request id first (so every refusal carries it), then who
is calling (access.enforce), then the Idempotency-Key (scoped per caller). After the view, in one place:
mask personal data for roles that may not see it, store the answer under its Idempotency-Key (masked as
the caller saw it), write the audit entry for any write (refused ones included), count and time it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import Counter, Histogram
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from services.common import answers, logs
from services.common.errors import DomainError
from services.common.outbox import utcnow
from services.gateway.application import access
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
# Kept longer than any client's retry window (a program retrying over a weekend included); configurable.
IDEMPOTENCY_TTL = answers.ttl()  # the services keep their commands' answers as long
# A first request that never finished (its worker died) stops blocking its key after this long.
IDEMPOTENCY_STALE = timedelta(minutes=15)
# A page form sent twice (a double click) waits this long for its first sending to finish, then replays it.
FORM_WAIT_SECONDS = 15.0
MAX_UPLOAD_BYTES = int(os.environ.get("YTCS_MAX_UPLOAD_BYTES", str(16 * 1024**3)))
# Endpoints whose body is streamed to storage (by name; views may also say so with api.common.streamed).
STREAMED = {"claims.upload_file"}
# style-src-attr: the pages' bar widths and chart swatches are style attributes (data, not markup a visitor
# controls); scripts are files only, so an injected <script> or on* handler does not run.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"  # JSON, files, metrics: nothing to load or frame
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SECRET_KEYS = re.compile(r"pass|token|secret|key", re.IGNORECASE)
_PERSONAL_MARKERS = tuple(f'"{name}"'.encode() for name in access.PERSONAL_FIELDS)


def _actor() -> str:
    """Whose Idempotency-Keys these are: one token or one user (two tokens may share a name)."""
    principal = g.get("principal")
    return (principal.ident or principal.name) if principal else "anonymous"


def streamed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose body is streamed to storage (claim files): no 1 MB limit, and its Idempotency-Key
    names the request by itself (the body is not read twice to hash it)."""
    view.ytcs_streamed = True  # type: ignore[attr-defined]
    return view


def is_streamed(endpoint: str | None) -> bool:
    if endpoint is None:
        return False
    view = current_app.view_functions.get(endpoint)
    return endpoint in STREAMED or bool(getattr(view, "ytcs_streamed", False))


def install(app: Flask) -> None:
    ytcs = app.extensions["ytcs"]

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()
        asked = request.headers.get("X-Request-Id", "")
        # A client's id is kept only if it is harmless in logs and headers.
        g.request_id = asked if _REQUEST_ID.match(asked) else uuid.uuid4().hex
        g.log_token = logs.bind(g.request_id)
        ytcs.clients.set_correlation_id(g.request_id)
        ytcs.clients.set_command_key(None)  # until an Idempotency-Key is taken for this request
        if is_streamed(request.endpoint):
            request.max_content_length = MAX_UPLOAD_BYTES  # claim files go to storage as a stream

    def input_guard() -> None:
        """After authentication (a stranger's body is never read). A NUL character is never meaningful
        input, and PostgreSQL refuses it in text: refuse it here, named, rather than let it reach a service."""
        if b"%00" in request.query_string or b"\x00" in request.query_string or "\x00" in request.path:
            raise DomainError.one("invalid_character", "Tham số chứa ký tự không hợp lệ (NUL).", None, 400)
        if is_streamed(request.endpoint) or not request.is_json:
            return
        if request.content_length and b"\\u0000" in request.get_data(cache=True):
            raise DomainError.one("invalid_character", "Nội dung chứa ký tự không hợp lệ (NUL).", None, 400)

    def idempotency_begin() -> Response | None:
        """Runs after authentication: a key belongs to the caller who sent it."""
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None or g.get("principal") is None:
            return None
        if is_streamed(request.endpoint):
            # A streamed upload takes its key itself once the file is stored and its digest known
            # (api/claims.py): the same key with another file is then refused, not replayed.
            return None
        digest = hashlib.sha256(request.query_string + b"\n")
        digest.update(request.get_data(cache=True))
        return begin_idempotent(key, digest.hexdigest())

    # Order matters: who is calling is known before the key (scoped per caller) is looked up.
    app.before_request(access.enforce)
    app.before_request(input_guard)
    app.before_request(idempotency_begin)

    @app.teardown_request
    def unbind_request_id(_exc: BaseException | None) -> None:
        # A worker thread serves many requests: the id must not leak into the next one's lines.
        token = g.pop("log_token", None)
        if token is not None:
            logs.unbind(token)

    @app.after_request
    def finish(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        _mask_personal(response)
        key = g.pop("idempotency_key", None)
        if key is not None:
            _store_idempotent(ytcs, key, response, g.pop("idempotency_form", False))
        if request.method in WRITE_METHODS and request.endpoint is not None:
            try:
                _audit(ytcs, endpoint, response)
            except Exception:
                # The write itself is done; losing its audit entry must be loud, not a second failure.
                log.exception("audit entry could not be written for %s %s", request.method, request.path)
        HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if "started" in g:
            HTTP_LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - g.started)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Pages load only this site's own script and styles (no inline script anywhere); nothing is framed.
        page = response.mimetype == "text/html"
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP if page else OTHER_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static":
            # Pages and answers carry people's data (claims, records, money): no copy in any cache or history.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def begin_idempotent(key: str, request_hash: str, *, form: bool = False) -> Response | None:
    """Take `key` for this caller's request, or answer with what its first request answered.

    `form`: the key is a page form's hidden `form_key` (web/common.py), so a double click or a resent form
    records nothing twice. Its first answer is kept only if it was the redirect of a done write, and a
    second request arriving while the first still runs waits for it rather than being refused."""
    ytcs = current_app.extensions["ytcs"]
    if not key or len(key) > 200:
        raise DomainError.one(
            "invalid_idempotency_key", "Idempotency-Key phải có từ 1 đến 200 ký tự.", "Idempotency-Key", 400
        )
    method_path = f"POST {request.path}"[:300]
    actor = _actor()
    where = (IdempotentResponse.actor == actor, IdempotentResponse.key == key)
    with ytcs.session() as s:
        s.execute(delete(IdempotentResponse).where(IdempotentResponse.created_at < utcnow() - IDEMPOTENCY_TTL))
        s.commit()
        for _attempt in range(2):  # a form's first sending may end with nothing kept: then take the key anew
            row = s.scalar(select(IdempotentResponse).where(*where))
            if row is not None and row.status is None and _older_than(row.created_at, IDEMPOTENCY_STALE):
                s.delete(row)  # its first request died mid-way: let this one run
                s.commit()
                row = None
            if row is None:
                try:
                    s.add(IdempotentResponse(actor=actor, key=key, method_path=method_path,
                                             request_hash=request_hash))
                    s.commit()
                    g.idempotency_key, g.idempotency_form = key, form
                    # Its service calls carry command keys from it: a command recorded behind a 5xx (which
                    # frees the key) is answered, not recorded again, when the request comes back.
                    ytcs.clients.set_command_key(
                        hashlib.sha256(f"{actor}\n{key}\n{method_path}\n{request_hash}".encode()).hexdigest()
                    )
                    return None
                except IntegrityError:
                    s.rollback()  # another worker took the key at the same moment
                    row = s.scalar(select(IdempotentResponse).where(*where))
            waited = time.monotonic() + (FORM_WAIT_SECONDS if form else 0)
            while row is not None and row.status is None and time.monotonic() < waited:
                s.rollback()  # no read transaction held while waiting
                time.sleep(0.1)
                row = s.scalar(select(IdempotentResponse).where(*where))
            if row is not None or not form:
                break
        if row is None or row.method_path != method_path or row.request_hash != request_hash:
            raise DomainError.one(
                "idempotency_key_reused",
                "Idempotency-Key này đã dùng cho một yêu cầu khác.",
                "Idempotency-Key",
                422,
            )
        if row.status is None:
            raise DomainError.one(
                "request_in_progress", "Yêu cầu với Idempotency-Key này đang được xử lý.", "Idempotency-Key", 409
            )
        g.idempotent_replay = True
        if row.location is not None:
            return Response(status=row.status, headers={"Location": row.location, "Idempotent-Replay": "true"})
        return Response(row.body, status=row.status, mimetype="application/json", headers={"Idempotent-Replay": "true"})


def _older_than(at: Any, age: timedelta) -> bool:
    return at < utcnow() - age


def _store_idempotent(ytcs: Any, key: str, response: Response, form: bool) -> None:
    with ytcs.session() as s:
        row = s.scalar(
            select(IdempotentResponse).where(IdempotentResponse.actor == _actor(), IdempotentResponse.key == key)
        )
        if row is None:
            return
        if form:
            if 300 <= response.status_code < 400 and response.location:
                row.status, row.location = response.status_code, response.location  # the write's redirect
            else:
                s.delete(row)  # the form came back with its errors (and a new key): nothing to replay
        elif response.status_code >= 500 or response.is_streamed:
            s.delete(row)  # a failure the client may retry with the same key
        else:
            row.status, row.body = response.status_code, response.get_data(as_text=True)
        s.commit()


def _mask_personal(response: Response) -> None:
    """Personal fields of claims (docs/contract.md "Access") become "***" for every role but admin and bhxh,
    in every JSON answer: one filter, so no view can forget it."""
    principal = g.get("principal")
    if principal is None or principal.sees_personal_data:
        return
    if response.is_streamed or response.mimetype != "application/json":
        return
    data = response.get_data()
    if not any(marker in data for marker in _PERSONAL_MARKERS):
        return
    try:
        masked, changed = access.mask_personal(json.loads(data))
    except ValueError:
        return
    if changed:
        response.set_data(json.dumps(masked, ensure_ascii=False))


def _request_summary() -> dict[str, Any] | None:
    """What was asked for, for the audit: the JSON body without secrets, cut short."""
    if not request.is_json or is_streamed(request.endpoint):
        return None
    if request.content_length is not None and request.content_length > (request.max_content_length or 0):
        return None  # refused as too large: nothing was read
    try:
        body = request.get_json(silent=True)
    except Exception:  # noqa: BLE001 - the body could not be read (client gone): the entry stays without it
        return None
    if not isinstance(body, dict):
        return None
    clean = {k: ("***" if _SECRET_KEYS.search(str(k)) else v) for k, v in body.items()}
    text = json.dumps(clean, ensure_ascii=False, default=str)
    return clean if len(text) <= 4000 else {"truncated": text[:4000]}


def _audit(ytcs: Any, endpoint: str, response: Response) -> None:
    principal = g.get("principal")
    details: dict[str, Any] = {"method": request.method}
    if request.query_string:
        details["query"] = request.query_string.decode("utf-8", "replace")[:500]
    if g.get("idempotent_replay"):
        details["idempotent_replay"] = True
    if request.headers.get("Idempotency-Key"):
        details["idempotency_key"] = request.headers["Idempotency-Key"][:200]
    summary = _request_summary()
    if summary is not None:
        details["body"] = summary
    if response.mimetype == "application/json" and not response.is_streamed:
        answer = response.get_json(silent=True)
        if isinstance(answer, dict):
            if response.status_code < 400 and answer.get("id") is not None:
                details["result_id"] = answer["id"]
            if response.status_code >= 400 and isinstance(answer.get("errors"), list):
                details["errors"] = [e.get("code") for e in answer["errors"] if isinstance(e, dict)][:20]
    if g.get("audit_details"):
        details.update(g.audit_details)
    with ytcs.session() as s:
        s.add(
            AuditEntry(
                at=utcnow(),
                actor=(principal.name if principal else g.get("audit_actor", "anonymous"))[:140],
                role=principal.role if principal else "-",
                action=endpoint[:80],
                target=request.path[:200],
                status=response.status_code,
                remote_addr=(request.remote_addr or "")[:64] or None,
                request_id=g.get("request_id", ""),
                details=details,
            )
        )
        s.commit()
