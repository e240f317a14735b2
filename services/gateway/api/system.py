"""Health, metrics and the OpenAPI document."""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from services.gateway.access import public
from services.gateway.api.common import ytcs
from services.gateway.clients import Unavailable

bp = Blueprint("system", __name__)
SERVICES = ("finance", "claims", "investment")


@bp.get("/healthz")
@public
def healthz() -> Any:
    """200 when every service answers its health RPC in time, else 503 naming the failing ones."""
    results = ytcs().clients.fan_out({s: (s, "health", (), {}) for s in SERVICES})
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
def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # figures add up across gunicorn workers
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/api/v1/openapi.json")
@public
def openapi() -> Any:
    from services.gateway.openapi import spec

    return jsonify(spec())
