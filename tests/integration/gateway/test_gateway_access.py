"""Who may come in, and how: bearer tokens stored as hashes, people's logins with argon2id and a session
cookie, failed logins limited per username and per address, scoping by unit and facility, personal data
masked for roles that may not see it — all decided in one place (access.py / hooks.py)."""

from __future__ import annotations

import pytest
from flask import Blueprint, jsonify
from sqlalchemy import func, select, text

from services.gateway import accounts
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.application.facilities import require_facility
from services.gateway.models import ApiToken, LoginFailure, User
from tests.integration.gateway.conftest import login_token, make_gateway

PASSWORD = "mật khẩu đủ dài"


def test_no_token_bad_token_other_scheme_are_401(gw):
    for headers in (
        {},
        {"Authorization": "Bearer ytcs_nothing"},
        {"Authorization": "Basic YTpi"},
        {"Authorization": "Bearer"},
    ):
        r = gw.client.get("/api/v1/auth/me", headers=headers)
        assert r.status_code == 401, headers
        assert r.json["errors"][0]["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_role_not_in_policy_is_403(gw):
    r = gw.client.get("/api/v1/audit", headers=gw.headers("finance"))
    assert r.status_code == 403 and r.json["errors"][0]["code"] == "forbidden"
    assert gw.client.get("/api/v1/audit", headers=gw.headers("admin")).status_code == 200


def test_tokens_are_stored_only_as_hashes_and_can_be_revoked(gw):
    token = gw.token("viewer", name="revocable")
    with gw.db() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.name == "revocable"))
        stored = " ".join(str(v) for v in s.execute(text("SELECT * FROM api_tokens")).all())
    assert token not in stored and row.token_hash == accounts.hash_token(token) and row.prefix == token[:12]
    me = gw.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json == {
        "name": "token:revocable",
        "role": "viewer",
        "unit": None,
        "kind": "token",
        "sees_personal_data": False,
    }
    with gw.db() as s:
        assert accounts.revoke_token(s, token[:12]) == 1
        s.commit()
    assert gw.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_login_sets_a_session_cookie_that_reads_but_never_writes_the_api(gw):
    gw.user("ketoan", PASSWORD, "finance", "910")
    with gw.db() as s:
        assert s.scalar(select(User.password_hash).where(User.username == "ketoan")).startswith("$argon2id$")
    browser = gw.app.test_client()
    r = browser.post(
        "/login",
        data={"username": "ketoan", "password": PASSWORD, "next": "/plans", "csrf_token": login_token(browser)},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 303 and r.headers["Location"] == "/plans"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = browser.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json["name"] == "user:ketoan" and me.json["unit"] == "910"
    # A cookie alone cannot write through the API (another site could make the browser send it).
    w = browser.post("/api/v1/facilities", json={"code": "91001", "name": "x", "unit": "31060"})
    assert w.status_code == 401
    # Deactivated: the session stops working at once.
    with gw.db() as s:
        s.scalar(select(User).where(User.username == "ketoan")).active = False
        s.commit()
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_logout_clears_the_session(gw):
    gw.user("bhxh1", PASSWORD, "bhxh")
    browser = gw.app.test_client()
    assert browser.post("/api/v1/auth/session", json={"username": "bhxh1", "password": PASSWORD}).status_code == 200
    assert browser.get("/api/v1/auth/me").status_code == 200
    # Logout is a POST with the page's CSRF token (issue 13: GET /logout and forged posts end nothing).
    page = browser.get("/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = browser.post("/logout", data={"csrf_token": token}, headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_open_redirects_are_refused(gw):
    gw.user("viewer1", PASSWORD, "viewer")
    for target in ("https://evil.example", "//evil.example", "/\\evil.example"):
        browser = gw.app.test_client()
        r = browser.post(
            "/login",
            data={"username": "viewer1", "password": PASSWORD, "next": target, "csrf_token": login_token(browser)},
            headers={"Accept": "text/html"},
        )
        assert r.headers["Location"] == "/"


def test_wrong_password_for_a_browser_goes_back_to_the_form(gw):
    form = {"username": "nobody", "password": "x", "csrf_token": login_token(gw.client)}
    r = gw.client.post("/login", data=form, headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/login?error=invalid_credentials")


def test_a_login_form_without_the_pages_token_logs_nobody_in(gw):
    """Login CSRF: another site's page posting its own credentials must not log the person's browser in."""
    gw.user("attacker", PASSWORD, "viewer")
    foreign = (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame's form
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://other.localhost"},
    )
    for sent_by in foreign:
        for token in (None, "forged", login_token(gw.app.test_client())):  # none, made up, another browser's
            browser = gw.app.test_client()
            form = {"username": "attacker", "password": PASSWORD} | ({"csrf_token": token} if token else {})
            r = browser.post("/login", data=form, headers={"Accept": "text/html", **sent_by})
            assert r.status_code == 303 and r.headers["Location"].startswith("/login?error=csrf_invalid"), sent_by
            assert browser.get("/api/v1/auth/me").status_code == 401
            r = browser.post("/login", data=form, headers=sent_by)  # the answer for a program
            assert r.status_code == 400 and r.json["errors"][0]["code"] == "csrf_invalid"
    page = gw.client.get("/login?error=csrf_invalid", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Trang đăng nhập đã hết hạn" in page
    with gw.db() as s:  # nothing was counted against the name: the password was never looked at
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 0

    # The login page's own token passes whatever the headers say; so does this site's own page without one, and
    # a program posting the form as the contract states (no token, no Origin).
    for headers, with_token in (({"Origin": "https://evil.example"}, True), ({"Origin": "http://localhost"}, False),
                                ({"Sec-Fetch-Site": "same-origin"}, False), ({}, False)):
        browser = gw.app.test_client()
        token = login_token(browser) if with_token else None
        form = {"username": "attacker", "password": PASSWORD} | ({"csrf_token": token} if token else {})
        r = browser.post("/login", data=form, headers={"Accept": "text/html", **headers})
        assert r.status_code == 303 and r.headers["Location"] == "/", headers
        assert browser.get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize("path", ["/login", "/api/v1/auth/session"])
def test_a_login_body_nested_past_the_parsers_depth_is_refused_not_a_500(gw, path):
    body = '{"username":' * 20_000 + '"x"' + "}" * 20_000  # 240 kB, under the size limit
    r = gw.app.test_client().post(path, data=body, content_type="application/json")
    assert r.status_code == 400 and r.json["errors"][0]["code"] == "invalid_json"


def test_failed_logins_are_limited_per_username(gw):
    gw.user("target", PASSWORD, "finance")
    for _ in range(accounts.MAX_FAILURES_PER_PAIR):  # from one address (the test client's)
        r = gw.client.post("/api/v1/auth/session", json={"username": "target", "password": "wrong password"})
        assert r.status_code == 401 and r.json["errors"][0]["code"] == "invalid_credentials"
    # Past the limit, even the right password is refused until the window passes.
    r = gw.client.post("/api/v1/auth/session", json={"username": "target", "password": PASSWORD})
    assert r.status_code == 429 and r.json["errors"][0]["code"] == "too_many_attempts"
    assert "thử lại" in r.json["errors"][0]["message"] and int(r.headers["Retry-After"]) > 0
    # The form answers the same for a program (JSON), and sends a browser back to the page.
    form = {"username": "target", "password": PASSWORD, "csrf_token": login_token(gw.client)}
    r = gw.client.post("/login", data=form)
    assert r.status_code == 429
    r = gw.client.post("/login", data=form, headers={"Accept": "text/html"})
    assert r.headers["Location"].startswith("/login?error=too_many_attempts")
    # Another user is not locked out by it.
    gw.user("other", PASSWORD, "finance")
    assert gw.client.post("/api/v1/auth/session", json={"username": "other", "password": PASSWORD}).status_code == 200


def test_failed_logins_are_limited_per_address(gw):
    """Many names guessed from one address slow that address down, never shut it (issue 13: an office behind
    one router must not be locked out; tests/security/test_sessions.py has the whole design)."""
    addr = {"REMOTE_ADDR": "10.9.8.7"}
    with gw.db() as s:  # many names guessed from one address (as if from earlier requests)
        for i in range(accounts.MAX_FAILURES_PER_ADDR):
            accounts.record_login_failure(s, f"guess{i}", "10.9.8.7")
        s.commit()
    gw.user("fresh", PASSWORD, "viewer")
    r = gw.client.post("/api/v1/auth/session", json={"username": "fresh", "password": PASSWORD}, environ_base=addr)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= accounts.ADDR_SLOW.total_seconds() + 1
    ok = gw.client.post(
        "/api/v1/auth/session",
        json={"username": "fresh", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.8.8"},
    )
    assert ok.status_code == 200


def test_success_clears_the_usernames_failures(gw):
    gw.user("forgetful", PASSWORD, "viewer")
    for _ in range(accounts.MAX_FAILURES_PER_PAIR - 1):
        gw.client.post("/api/v1/auth/session", json={"username": "forgetful", "password": "nope nope"})
    assert (
        gw.client.post("/api/v1/auth/session", json={"username": "forgetful", "password": PASSWORD}).status_code == 200
    )
    with gw.db() as s:
        assert s.scalar(select(LoginFailure).where(LoginFailure.username == "forgetful")) is None


def _pii_app(app):
    bp = Blueprint("pii_probe", __name__)

    @bp.get("/api/v1/test/pii")
    @allow(*READ_ROLES)
    def probe():
        return jsonify(
            {
                "items": [
                    {
                        "ma_lk": "A1",
                        "ho_ten": "Nguyễn Văn A",
                        "MA_THE_BHYT": "GD4919123456789",
                        "ngay_sinh": None,
                        "nested": {"dia_chi": "Vĩnh Thuận"},
                    }
                ]
            }
        )

    @bp.get("/api/v1/test/facility/<code>")
    @allow(*READ_ROLES)
    def facility(code):
        require_facility(code)
        return jsonify({"ok": True})

    @bp.get("/api/v1/test/undeclared")
    def undeclared():
        return jsonify({"secret": True})

    app.register_blueprint(bp)


@pytest.fixture
def probe_gw(any_db_url, gw_amqp):
    gateway = make_gateway(any_db_url, gw_amqp, _pii_app)
    yield gateway
    gateway.app.extensions["ytcs"].engine.dispose()


@pytest.mark.parametrize(("role", "masked"), [("admin", False), ("bhxh", False), ("finance", True), ("viewer", True)])
def test_personal_data_is_masked_for_roles_that_may_not_see_it(probe_gw, role, masked):
    item = probe_gw.client.get("/api/v1/test/pii", headers=probe_gw.headers(role)).json["items"][0]
    if masked:
        assert item == {
            "ma_lk": "A1",
            "ho_ten": "***",
            "MA_THE_BHYT": "***",
            "ngay_sinh": None,
            "nested": {"dia_chi": "***"},
        }
    else:
        assert item["ho_ten"] == "Nguyễn Văn A" and item["nested"]["dia_chi"] == "Vĩnh Thuận"


def test_a_view_without_a_policy_is_refused_to_everybody(probe_gw):
    r = probe_gw.client.get("/api/v1/test/undeclared", headers=probe_gw.headers("admin"))
    assert r.status_code == 403 and r.json["errors"][0]["code"] == "no_policy"


def test_facility_scoping_follows_the_register(probe_gw):
    admin = probe_gw.headers("admin")
    # A Vĩnh Thuận commune; a Rạch Giá ward (units in force today: a facility serves a unit that exists).
    for code, unit in (("91101", "31064"), ("91201", "30742")):
        assert (
            probe_gw.client.post(
                "/api/v1/facilities", headers=admin, json={"code": code, "name": "Trạm", "unit": unit}
            ).status_code
            == 201
        )
    district = probe_gw.headers("bhxh", "910")
    assert probe_gw.client.get("/api/v1/test/facility/91101", headers=district).status_code == 200
    refused = probe_gw.client.get("/api/v1/test/facility/91201", headers=district)
    assert refused.status_code == 403 and refused.json["errors"][0]["code"] == "facility_forbidden"
    assert probe_gw.client.get("/api/v1/test/facility/99999", headers=district).status_code == 403  # unregistered
    province = probe_gw.headers("bhxh", "91")
    assert probe_gw.client.get("/api/v1/test/facility/99999", headers=province).status_code == 200
    listed = probe_gw.client.get("/api/v1/facilities", headers=district).json["items"]
    assert [f["code"] for f in listed] == ["91101"]
    assert probe_gw.client.get("/api/v1/facilities/91201", headers=district).status_code == 403
