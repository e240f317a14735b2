"""The JSON API, one blueprint per resource (see docs/contract.md and /api/v1/openapi.json)."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from services.gateway.api import (
        audit,
        auth,
        capitation,
        claims,
        claims_rules,
        facilities,
        finance,
        funding,
        indicators,
        investment,
        plans,
        reconciliation,
        reports,
        stations,
        surplus,
        system,
        units,
        yearly,
    )

    for module in (
        system,
        auth,
        plans,
        funding,
        stations,
        facilities,
        audit,
        finance,
        capitation,
        investment,
        indicators,
        claims,
        claims_rules,
        reconciliation,
        reports,
        surplus,
        units,
        yearly,
    ):
        app.register_blueprint(module.bp)
