"""The web pages for people (finance officers, BHXH officers, viewers), in Vietnamese, served by the gateway.

Server-rendered (Jinja templates in web/templates, CSS and a small script in web/static: nothing from a CDN).
Access is the gateway's one mechanism (application/access.py): every page declares `@allow(...)` or `@public`, and the
session cookie set by `POST /login` (api/auth.py) identifies the person. Page forms post to page routes,
never to the API (API writes refuse the cookie): each such POST carries a CSRF token (Flask-WTF's
`flask_wtf.csrf`, checked in this blueprint's before_request, after the access check), then calls the
same service RPCs with the same marshmallow schemas as the API views. Writes are audited by hooks.py like
any other write. See docs/web.md.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from services.common import units
from services.gateway.web.format import FILTERS

csrf = CSRFProtect()


def register_web(app: Flask) -> None:
    # Checked by the pages' blueprint only (web/common.py): API views authenticate with bearer tokens, which
    # a foreign site cannot send, and must not be asked for a token they never saw.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # A form's token lives as long as the session it belongs to (PERMANENT_SESSION_LIFETIME), not 1 hour.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", int(app.permanent_session_lifetime.total_seconds()))
    csrf.init_app(app)
    app.jinja_env.filters.update(FILTERS)
    from services.gateway.web.common import new_form_key

    app.jinja_env.globals["form_key"] = new_form_key
    # The 2025 merger, which several pages name (the station's mergers, the priorities' former districts, the
    # indicators of merged communes), as an ISO date: comparable with the answers' dates, read by `vn_date`.
    app.jinja_env.globals["reform_date"] = units.REFORM_DATE.isoformat()

    from services.gateway.web import (  # noqa: F401 - routes register on import
        bhxh_pages,
        capitation_pages,
        facility_pages,
        finance_pages,
        indicator_pages,
        investment_pages,
        report_pages,
        setup_pages,
    )
    from services.gateway.web.common import bp

    app.register_blueprint(bp)
