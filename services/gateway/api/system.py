"""Health, metrics and the OpenAPI document."""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from services.gateway.api.common import ytcs
from services.gateway.api.schemas.system import Health
from services.gateway.application.access import public
from services.gateway.errors import Unavailable
from services.gateway.openapi import doc

bp = Blueprint("system", __name__)
SERVICES = ("finance", "claims", "investment")
HEALTH_TIMEOUT = float(os.environ.get("YTCS_HEALTH_TIMEOUT", "5"))


@bp.get("/healthz")
@public
@doc(response=Health, responses={503: ("Một dịch vụ không trả lời (được đánh dấu trong services)", Health)})
def healthz() -> Any:
    """200 when every service answers its health RPC in time, else 503 naming the failing ones."""
    results = ytcs().clients.fan_out({s: (s, "health", (), {}) for s in SERVICES}, timeout=HEALTH_TIMEOUT)
    services = {
        s: (
            "ok"
            if isinstance(r, dict) and r.get("status") == "ok"
            else ("unavailable" if isinstance(r, Unavailable) else "error")
        )
        for s, r in results.items()
    }
    ok = all(v == "ok" for v in services.values())
    return jsonify({"status": "ok" if ok else "degraded", "services": services}), 200 if ok else 503


@bp.get("/metrics")
@public
@doc(response_content_type="text/plain")
def metrics() -> Response:
    """Prometheus metrics of the gateway (text format), summed over the gunicorn workers."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # figures add up across gunicorn workers
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/api/v1/openapi.json")
@public
@doc(response={"type": "object", "required": ["openapi", "paths"]}, example={"openapi": "3.1.0", "paths": {}})
def openapi() -> Any:
    """This document: OpenAPI 3.1 of the whole API, generated from the route table and its schemas."""
    from services.gateway.openapi import spec

    return jsonify(spec())
