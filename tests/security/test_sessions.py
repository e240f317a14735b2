"""Issue 13, finding 5 (and issue 20's session key): people's sessions can be cut off.

The gateway in-process (Flask test client) on SQLite and PostgreSQL. Cookies are replayed by hand
(`use_cookies=False`), as an attacker holding a copy would, so what is proved is the server refusing them,
not a browser forgetting them: a cookie is worthless after logout; sessions end after their idle and absolute
lifetimes however busy, and are not renewed on every answer; `ytcs user disable|enable|passwd` cut a person
off (sessions and their tokens); `GET /logout` and a forged `POST /logout` end nothing; failures from one
address never lock another person out; the session key survives a restart.
"""

from __future__ import annotations

import io
import multiprocessing
import re
import stat
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, text

from services import cli
from services.gateway import accounts, session_store
from services.gateway.app import create_app
from services.gateway.models import WebSession
from tests.integration.gateway.conftest import Gateway, login_token, make_gateway
from tests.support.infra import rabbit_vhost

PASSWORD = "mật khẩu đủ dài 13"
HTML = {"Accept": "text/html"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def amqp() -> Iterator[str]:
    with rabbit_vhost() as uri:
        yield uri


def _gateway(db_url: str, amqp_uri: str, **config: object) -> Gateway:
    gateway = make_gateway(db_url, amqp_uri)
    gateway.app.config.update(config)
    return gateway


@pytest.fixture
def gw(any_db_url: str, amqp: str) -> Iterator[Gateway]:
    gateway = _gateway(any_db_url, amqp)
    yield gateway
    gateway.app.extensions["ytcs"].engine.dispose()
    gateway.db.kw["bind"].dispose()


def _login(gw: Gateway, username: str, password: str = PASSWORD, addr: str = "10.1.1.1") -> str:
    """Log in as a browser does; the session cookie's value, as a thief would copy it."""
    browser = gw.app.test_client()
    form = {"username": username, "password": password, "csrf_token": login_token(browser)}
    r = browser.post("/login", data=form, headers=HTML, environ_base={"REMOTE_ADDR": addr})
    assert r.status_code == 303 and not r.headers["Location"].startswith("/login"), r.headers.get("Location")
    return _cookie(r)


def _cookie(response) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("session="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no session cookie in {response.headers}")


def _me(gw: Gateway, cookie: str) -> int:
    client = gw.app.test_client(use_cookies=False)
    return client.get("/api/v1/auth/me", headers={"Cookie": f"session={cookie}"}).status_code


def _csrf(gw: Gateway, cookie: str) -> tuple[str, str]:
    """A page's CSRF token, and the cookie as the browser keeps it (the token is written into the session)."""
    page = gw.app.test_client(use_cookies=False).get("/login", headers={**HTML, "Cookie": f"session={cookie}"})
    return CSRF.search(page.get_data(as_text=True)).group(1), _cookie(page)


def _logout(gw: Gateway, cookie: str, **form: str):
    client = gw.app.test_client(use_cookies=False)
    return client.post("/logout", data=form, headers={**HTML, "Cookie": f"session={cookie}"})


def test_a_cookie_is_worthless_after_logout_and_only_its_hash_is_stored(gw):
    gw.user("logout1", PASSWORD, "bhxh")
    cookie = _login(gw, "logout1")
    assert _me(gw, cookie) == 200
    token, current = _csrf(gw, cookie)
    r = _logout(gw, current, csrf_token=token)
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert _me(gw, cookie) == 401 and _me(gw, current) == 401  # copies kept from before the logout
    sid = gw.app.session_interface.get_signing_serializer(gw.app).loads(cookie)["sid"]
    with gw.db() as s:
        row = s.scalar(select(WebSession).where(WebSession.token_hash == accounts.hash_token(sid)))
        stored = " ".join(str(v) for v in s.execute(text("SELECT * FROM web_sessions")).all())
    assert row is not None and row.revoked_at is not None and sid not in stored


def test_get_logout_and_a_forged_post_end_nothing(gw):
    gw.user("logout2", PASSWORD, "viewer")
    cookie = _login(gw, "logout2")
    client = gw.app.test_client(use_cookies=False)
    assert client.get("/logout", headers={**HTML, "Cookie": f"session={cookie}"}).status_code == 405
    assert _me(gw, cookie) == 200
    # Another site's form: no token, or a token it made up. The person stays logged in, on the home page.
    for form in ({}, {"csrf_token": "forged"}):
        r = _logout(gw, cookie, **form)
        assert r.status_code == 303 and r.headers["Location"] == "/", form
        assert _me(gw, cookie) == 200, form
    refused = client.post("/logout", data={}, headers={"Cookie": f"session={cookie}"})
    assert refused.status_code == 400 and refused.json["errors"][0]["code"] == "csrf_invalid"
    # A JSON request cannot come from another site (no CORS permission): a script logs itself out with it.
    r = client.post("/logout", json={}, headers={"Cookie": f"session={cookie}"})
    assert r.status_code == 200 and _me(gw, cookie) == 401


def test_sessions_end_after_their_idle_and_absolute_lifetimes_and_are_not_renewed(any_db_url, amqp):
    gw = _gateway(any_db_url, amqp, YTCS_SESSION_IDLE=timedelta(seconds=3),
                  PERMANENT_SESSION_LIFETIME=timedelta(seconds=8))
    try:
        gw.user("busy", PASSWORD, "finance")
        gw.user("idle", PASSWORD, "finance")
        # The login's absolute end lies between 8 s after `started` and 8 s after `logged_in`.
        started = time.monotonic()
        busy = _login(gw, "busy")
        logged_in = time.monotonic()
        idle = _login(gw, "idle")
        idle_since = time.monotonic()
        client = gw.app.test_client(use_cookies=False)
        # Used every half second: the idle limit never bites, and no answer hands out a renewed cookie.
        resigned = False
        while time.monotonic() - started < 6.5:
            r = client.get("/api/v1/auth/me", headers={"Cookie": f"session={busy}"})
            assert r.status_code == 200, time.monotonic() - started
            assert "Set-Cookie" not in r.headers
            if not resigned and time.monotonic() - started > 3.5:
                # A page that writes into the session (its CSRF token) re-signs the cookie, as a browser keeps
                # it: from here on only the server's row knows when this login began.
                busy, resigned = _cookie(client.get("/login", headers={**HTML, "Cookie": f"session={busy}"})), True
            time.sleep(0.5)
        # Unused for longer than the idle lifetime: gone, and using it again does not bring it back.
        time.sleep(max(0.0, 3.3 - (time.monotonic() - idle_since)))
        assert _me(gw, idle) == 401 and _me(gw, idle) == 401
        time.sleep(max(0.0, 8.3 - (time.monotonic() - logged_in)))
        assert _me(gw, busy) == 401  # past the absolute lifetime, however busy
        page = gw.app.test_client(use_cookies=False).get("/", headers={**HTML, "Cookie": f"session={busy}"})
        assert page.status_code == 303 and page.headers["Location"].startswith("/login")
    finally:
        gw.app.extensions["ytcs"].engine.dispose()
        gw.db.kw["bind"].dispose()


def _ytcs(monkeypatch, capsys, db_url: str, *args: str, stdin: str = "") -> str:
    monkeypatch.setenv("GATEWAY_DB_URL", db_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert cli.main(list(args)) == 0
    return capsys.readouterr().out


def test_user_disable_enable_passwd_cut_a_person_off(gw, any_db_url, monkeypatch, capsys):
    gw.user("ketoan13", PASSWORD, "finance", "910")
    cookie = _login(gw, "ketoan13")
    token = _ytcs(monkeypatch, capsys, any_db_url, "token", "create", "--name", "kt13-script", "--user", "ketoan13")
    token = token.strip().splitlines()[-1]
    bearer = {"Authorization": f"Bearer {token}"}
    me = gw.client.get("/api/v1/auth/me", headers=bearer)
    assert me.status_code == 200 and (me.json["role"], me.json["unit"]) == ("finance", "910")

    assert "disabled" in _ytcs(monkeypatch, capsys, any_db_url, "user", "disable", "--username", "ketoan13")
    assert _me(gw, cookie) == 401
    assert gw.client.get("/api/v1/auth/me", headers=bearer).status_code == 401
    r = gw.client.post("/api/v1/auth/session", json={"username": "ketoan13", "password": PASSWORD})
    assert r.status_code == 401

    _ytcs(monkeypatch, capsys, any_db_url, "user", "enable", "--username", "ketoan13")
    assert _me(gw, cookie) == 401  # an ended session stays ended
    assert gw.client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    cookie = _login(gw, "ketoan13")

    new = "mật khẩu mới cũng dài"
    _ytcs(monkeypatch, capsys, any_db_url, "user", "passwd", "--username", "ketoan13", stdin=new + "\n")
    assert _me(gw, cookie) == 401  # opened with the old password
    assert _session(gw, "ketoan13", PASSWORD, "10.1.1.1").status_code == 401
    assert _me(gw, _login(gw, "ketoan13", new)) == 200


def _session(gw: Gateway, username: str, password: str, addr: str):
    return gw.client.post(
        "/api/v1/auth/session", json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": addr}
    )


def test_failures_from_one_address_never_lock_out_another_person_behind_it(gw):
    office = "10.20.30.40"
    gw.user("dongnghiep", PASSWORD, "viewer")  # has never logged in: nothing known about them
    gw.user("quen", PASSWORD, "viewer")
    # One machine in the office fails 20 times (the count), with names that guess nothing.
    for i in range(20):
        assert _session(gw, f"doan{i}", "sai mật khẩu", office).status_code == 401
    assert _session(gw, "dongnghiep", PASSWORD, office).status_code == 200
    # One account guessed from there is refused from that address only.
    for _ in range(accounts.MAX_FAILURES_PER_PAIR):
        assert _session(gw, "quen", "sai mật khẩu", office).status_code == 401
    assert _session(gw, "quen", PASSWORD, office).status_code == 429
    assert _session(gw, "quen", PASSWORD, "10.20.30.41").status_code == 200

    # Far past the generous per-address limit (planted: as if from the last minutes), the address is slowed:
    with gw.db() as s:
        for i in range(accounts.MAX_FAILURES_PER_ADDR):
            accounts.record_login_failure(s, f"guess{i}", office)
        s.commit()
    # a person who has logged in from this address lately is not slowed at all,
    assert _session(gw, "dongnghiep", PASSWORD, office).status_code == 200
    # one who never has waits seconds, not a lockout, and is then let in with the right password.
    gw.user("moi", PASSWORD, "viewer")
    slowed = _session(gw, "moi", PASSWORD, office)
    if slowed.status_code == 429:
        wait = int(slowed.headers["Retry-After"])
        assert wait <= accounts.ADDR_SLOW.total_seconds() + 1 and "giây" in slowed.json["errors"][0]["message"]
        time.sleep(wait)
        slowed = _session(gw, "moi", PASSWORD, office)
    assert slowed.status_code == 200


def test_guessing_one_name_from_many_addresses_does_not_lock_the_person_out_of_their_desk(gw):
    gw.user("giamdoc", PASSWORD, "admin")
    assert _session(gw, "giamdoc", PASSWORD, "10.5.5.5").status_code == 200  # their desk
    for i in range(accounts.MAX_FAILURES_PER_USER):
        assert _session(gw, "giamdoc", "đoán sai", f"172.16.0.{i + 1}").status_code == 401
    # The username is locked, briefly, for addresses it was never used from...
    r = _session(gw, "giamdoc", PASSWORD, "172.16.1.1")
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= accounts.USER_LOCKOUT.total_seconds() + 1
    # ...and not at the desk.
    assert _session(gw, "giamdoc", PASSWORD, "10.5.5.5").status_code == 200


def test_the_session_key_is_kept_under_the_data_folder(tmp_path, monkeypatch, any_db_url, amqp):
    """Issue 20: a second start (a second `make run`) keeps people logged in."""
    monkeypatch.delenv("YTCS_SECRET_KEY", raising=False)
    monkeypatch.setenv("YTCS_VAR", str(tmp_path / "var"))
    first = _gateway(any_db_url, amqp)
    key = first.app.config["SECRET_KEY"]
    kept = tmp_path / "var" / session_store.KEY_FILE
    assert kept.read_text().strip() == key and len(key) >= 64
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    first.user("bensau", PASSWORD, "viewer")
    cookie = _login(first, "bensau")
    second = _gateway(any_db_url, amqp)  # the restart
    try:
        assert second.app.config["SECRET_KEY"] == key and _me(second, cookie) == 200
        monkeypatch.setenv("YTCS_SECRET_KEY", "z" * 64)  # the environment still wins
        assert create_app({"GATEWAY_DB_URL": "sqlite://"}).config["SECRET_KEY"] == "z" * 64
    finally:
        for gateway in (first, second):
            gateway.app.extensions["ytcs"].engine.dispose()
            gateway.db.kw["bind"].dispose()


def _key_in(folder: str) -> str:
    return session_store.stored_secret_key(Path(folder))


def test_workers_starting_together_agree_on_one_key(tmp_path):
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        keys = pool.map(_key_in, [str(tmp_path)] * 24)
    assert len(set(keys)) == 1 and [p.name for p in tmp_path.iterdir()] == [session_store.KEY_FILE]


def test_on_the_running_system_logout_and_disable_cut_off_at_once(sec_stack):
    """`ytcs run` (gunicorn, 2 workers sharing the key kept in the stack's data folder): a session works on
    every worker, a copied cookie dies at logout, and `ytcs user disable` from another process ends the
    person's other session on the next request."""
    sec_stack.ytcs("user", "create", "--username", "ses-stack", "--role", "viewer", stdin=PASSWORD + "\n")
    assert (sec_stack.var / session_store.KEY_FILE).exists()

    def login() -> requests.Session:
        b = requests.Session()
        token = CSRF.search(b.get(sec_stack.url + "/login", headers=HTML, timeout=30).text).group(1)
        r = b.post(sec_stack.url + "/login", data={"username": "ses-stack", "password": PASSWORD, "csrf_token": token},
                   headers=HTML, allow_redirects=False, timeout=30)
        assert r.status_code == 303 and r.headers["Location"] == "/", r.text[:300]
        return b

    first, second = login(), login()
    for _ in range(6):  # whichever worker answers
        assert first.get(sec_stack.url + "/api/v1/auth/me", timeout=30).status_code == 200
    copy = dict(first.cookies)
    page = first.get(sec_stack.url + "/login", headers=HTML, timeout=30).text
    r = first.post(sec_stack.url + "/logout", data={"csrf_token": CSRF.search(page).group(1)}, headers=HTML,
                   allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert requests.get(sec_stack.url + "/api/v1/auth/me", cookies=copy, timeout=30).status_code == 401

    assert second.get(sec_stack.url + "/api/v1/auth/me", timeout=30).status_code == 200
    sec_stack.ytcs("user", "disable", "--username", "ses-stack")
    assert second.get(sec_stack.url + "/api/v1/auth/me", timeout=30).status_code == 401
