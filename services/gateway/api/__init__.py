"""The JSON API, one blueprint per resource (see CONTRACT.md and /api/v1/openapi.json)."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from services.gateway.api import plans, stations, system

    for module in (system, plans, stations):
        app.register_blueprint(module.bp)
