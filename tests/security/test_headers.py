"""Issue 13, finding 7: every page of the running system forbids framing and inline script (a
Content-Security-Policy, X-Frame-Options), and nothing people see — pages, claim lists, claim files, records,
reconciliation, API answers — is kept by a browser or proxy cache (Cache-Control: no-store). The pages are also
read for what such a policy would break (inline script, on* handlers, javascript: links), so the policy and
the pages stay in step, and their logout is a POST form, not a link another site could copy."""

from __future__ import annotations

import re

import pytest
import requests

from services.gateway.app import create_app
from services.gateway.application.access import route_table

PASSWORD = "mật khẩu tiêu đề bảo mật"
HTML = {"Accept": "text/html"}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def _pages() -> dict[str, bool]:
    """Every page (GET, HTML) of the gateway without a path argument, from its own route table: is it public?"""
    table = route_table(create_app({"GATEWAY_DB_URL": "sqlite://"}))
    return {
        r["rule"]: r["public"]
        for r in table
        if "GET" in r["methods"] and not r["arguments"] and not r["rule"].startswith("/api/")
        and r["rule"] not in ("/healthz", "/metrics")
    }


@pytest.fixture(scope="module")
def admin(sec_stack) -> requests.Session:
    sec_stack.ytcs("user", "create", "--username", "hdr-admin", "--role", "admin", stdin=PASSWORD + "\n")
    browser = requests.Session()
    browser.headers.update(HTML)
    page = browser.get(sec_stack.url + "/login", timeout=30).text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"username": "hdr-admin", "password": PASSWORD, "csrf_token": token}
    r = browser.post(sec_stack.url + "/login", data=form, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/", r.text
    return browser


def _assert_guarded(r: requests.Response, what: str) -> None:
    h = r.headers
    assert "frame-ancestors 'none'" in h.get("Content-Security-Policy", ""), what
    assert h.get("X-Frame-Options") == "DENY", what
    assert h.get("X-Content-Type-Options") == "nosniff", what
    assert "no-store" in h.get("Cache-Control", ""), what


def test_every_page_forbids_framing_and_inline_script_and_is_not_cached(sec_stack, admin):
    pages = _pages()
    assert {"/", "/claims", "/claims/records", "/reconciliation", "/login"} <= set(pages)
    for path, public in sorted(pages.items()):
        r = admin.get(sec_stack.url + path, timeout=60)
        assert r.status_code == 200 or path == "/setup", (path, r.status_code)
        _assert_guarded(r, path)
        if r.headers.get("Content-Type", "").startswith("text/html"):
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
            assert "object-src 'none'" in csp and "base-uri 'none'" in csp, path
            body = r.text
            assert not INLINE_SCRIPT.search(body), (path, INLINE_SCRIPT.search(body))
            assert not HANDLER.search(body), (path, HANDLER.search(body))
            assert "javascript:" not in body.lower(), path
            if not public:  # a person's page: its logout is a form with the CSRF token
                assert '<form method="post" action="/logout"' in body and 'href="/logout"' not in body, path
    for path in ("/claims/files/987654321", "/allocations/987654321", "/stations/99999"):  # pages that say no
        r = admin.get(sec_stack.url + path, timeout=60)
        assert r.status_code in (404, 422), (path, r.status_code)
        _assert_guarded(r, path)


def test_answers_with_personal_data_are_not_cached(sec_stack, admin, sec_tokens):
    bearer = {"Authorization": f"Bearer {sec_tokens['bhxh']}"}
    for path in (
        "/api/v1/auth/me",
        "/api/v1/claims?card=GD4919123456789",
        "/api/v1/claims/files",
        "/api/v1/reconciliation?period=2024-Q1",
    ):
        r = requests.get(sec_stack.url + path, headers=bearer, timeout=60)
        assert r.status_code < 500, (path, r.status_code, r.text[:200])
        _assert_guarded(r, path)
        assert "default-src 'none'" in r.headers["Content-Security-Policy"], path  # JSON loads nothing
    # A page's own answer read with the session cookie (the claim file's progress polling) is the same.
    r = admin.get(sec_stack.url + "/api/v1/claims/files", headers={"Accept": "application/json"}, timeout=60)
    assert r.status_code == 200
    _assert_guarded(r, "cookie read")
    # The login page, for a stranger, as well: it is framed nowhere.
    _assert_guarded(requests.get(sec_stack.url + "/login", headers=HTML, timeout=30), "/login (anonymous)")


def test_static_files_may_be_cached_but_not_framed(sec_stack):
    r = requests.get(sec_stack.url + "/static/app.js", timeout=30)
    assert r.status_code == 200 and "no-store" not in r.headers.get("Cache-Control", "")
    assert r.headers.get("X-Frame-Options") == "DENY" and r.headers.get("X-Content-Type-Options") == "nosniff"
