"""Logins for people (the web pages' session cookie) and "who am I" for any caller.

`POST /login` takes the pages' form (`username`, `password`), opens a server-side session (a `web_sessions`
row, session_store.py) and sets the cookie naming it; the page that shows the form belongs to the web pages.
`POST /logout` revokes that row, so a copy of the cookie is worth nothing afterwards; it needs the page's CSRF
token (or a JSON body, which another site cannot send without a CORS permission it never gets), so a link or a
form on another site cannot log people out. Failed logins are limited per (address, username), per username
and per address (accounts.login_retry_after): past a limit the answer is 429 `too_many_attempts` with
Retry-After. API writes never accept the cookie (application/access.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, g, jsonify, redirect, request, session
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError as WTFormsValidationError

from services.common.errors import DomainError
from services.gateway import accounts
from services.gateway.api.common import json_body, load_json, ytcs
from services.gateway.api.schemas.auth import Credentials, LoginForm, LogoutForm, Me, SessionOut
from services.gateway.application.access import READ_ROLES, allow, public
from services.gateway.openapi import doc

bp = Blueprint("auth", __name__)


def _me(principal: accounts.Principal) -> dict[str, Any]:
    return {
        "name": principal.name,
        "role": principal.role,
        "unit": principal.unit,
        "kind": principal.kind,
        "sees_personal_data": principal.sees_personal_data,
    }


def _login(username: str, password: str) -> accounts.Principal:
    """Check the limit, then the password; a failure is counted, a success clears the username's failures."""
    g.audit_actor = f"login:{username[:80]}"
    addr = request.remote_addr
    with ytcs().session() as s:
        retry = accounts.login_retry_after(s, username, addr)
        if retry is not None:
            wait = f"{retry} giây" if retry < 60 else f"{retry // 60} phút"
            err = DomainError.one(
                "too_many_attempts", f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {wait}.", None, 429
            )
            err.retry_after = retry  # type: ignore[attr-defined]
            raise err
        principal = accounts.verify_password(s, username, password)
        if principal is None:
            accounts.record_login_failure(s, username, addr)
            s.commit()
            raise DomainError.one("invalid_credentials", "Tên đăng nhập hoặc mật khẩu không đúng.", None, 401)
        accounts.clear_login_failures(s, username, addr)
        sid, expires = accounts.open_session(s, principal.user_id, addr, current_app.permanent_session_lifetime)
        s.commit()
    session.clear()  # nothing of a session from before the login carries over (no fixation)
    session.permanent = True
    session["uid"] = principal.user_id
    session["sid"] = sid  # the row decides; the signed cookie only names it
    session["exp"] = int(expires.timestamp())  # the cookie never outlives the row
    g.audit_actor = principal.name
    return principal


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect to another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _form_token_valid() -> bool:
    """The pages' CSRF token sent with a form (field `csrf_token` or header X-CSRFToken) is this session's."""
    try:
        validate_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRFToken"))
    except WTFormsValidationError:
        return False
    return True


def _forged_login() -> bool:
    """Login CSRF: a form posted to /login by another site's page, which would log the person's browser into an
    account of the sender's choosing (SameSite=Lax lets a top-level form post through). The login page's own
    CSRF token always passes; without it, a browser names a foreign page in `Sec-Fetch-Site` or `Origin`, which
    such a page cannot hide. A program posting the form sends neither and keeps the contract (username and
    password); JSON needs a CORS permission no other site gets."""
    if request.is_json or _form_token_valid():
        return False
    if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin.rstrip("/") != request.host_url.rstrip("/")


def _wants_json() -> bool:
    """A browser submitting the form names text/html in Accept; any other client gets JSON."""
    return request.is_json or "text/html" not in request.headers.get("Accept", "")


@bp.post("/login")
@public
@doc(
    body=LoginForm,
    content_type="application/x-www-form-urlencoded",
    status=303,
    responses={
        200: ("Đăng nhập thành công (khi yêu cầu JSON)", SessionOut),
        400: "Biểu mẫu gửi từ trang khác mà không có mã CSRF của trang đăng nhập",
        401: "Sai tên đăng nhập hoặc mật khẩu",
        429: "Đăng nhập sai quá nhiều lần",
    },
)
def login() -> Any:
    """Log a person in from the pages' form: sets the session cookie, then redirects (303) to `next`.

    A form sent from another site's page without the login page's CSRF token is refused (400 `csrf_invalid`).
    A browser is sent back to `/login?error=<code>` on failure; any other client gets 200 / 400 / 401 / 429.
    """
    if _forged_login():
        if not _wants_json():
            query = {"error": "csrf_invalid", "next": _safe_next(request.form.get("next"))}
            return redirect("/login?" + urlencode(query), 303)
        message = "Biểu mẫu đăng nhập gửi từ trang khác mà không có mã CSRF: không đăng nhập."
        raise DomainError.one("csrf_invalid", message, "csrf_token", 400)
    raw = json_body() if request.is_json else request.form.to_dict()
    if not isinstance(raw, dict):
        raise DomainError.one("invalid_json", "Nội dung JSON không hợp lệ (cần một đối tượng).", None, 400)
    form = LoginForm().load(raw)
    try:
        principal = _login(form["username"], form["password"])
    except DomainError as exc:
        if _wants_json():
            raise
        g.audit_details = {"outcome": exc.errors[0]["code"]}
        query = {"error": exc.errors[0]["code"], "next": _safe_next(form.get("next"))}
        return redirect("/login?" + urlencode(query), 303)
    if _wants_json():
        return jsonify({"user": _me(principal)})
    return redirect(_safe_next(form.get("next")), 303)


@bp.post("/api/v1/auth/session")
@public
@doc(
    body=Credentials,
    response=SessionOut,
    responses={401: "Sai tên đăng nhập hoặc mật khẩu", 429: "Đăng nhập sai quá nhiều lần"},
)
def create_session() -> Any:
    """Log a person in with JSON credentials (for scripts driving the pages): sets the session cookie.

    Programs should rather use an API token (`ytcs token create`): API writes need `Authorization: Bearer`.
    """
    data = load_json(Credentials())
    return jsonify({"user": _me(_login(data["username"], data["password"]))})


@bp.post("/logout")
@public
@doc(
    body=LogoutForm,
    content_type="application/x-www-form-urlencoded",
    status=303,
    responses={200: ("Đã đăng xuất (khi yêu cầu JSON)", {"type": "object"}), 400: "Thiếu hoặc sai mã CSRF"},
)
def logout() -> Any:
    """End the person's session: its server-side row is revoked (the cookie is worth nothing afterwards),
    then back to the login page. Needs the pages' CSRF token (field `csrf_token` or header X-CSRFToken), or
    a JSON request; `GET /logout` does nothing, so a link on another site cannot log anyone out."""
    sid = session.get("sid")
    if isinstance(sid, str):
        # A foreign page can post a form, never JSON without a CORS permission.
        if not request.is_json and not _form_token_valid():
            if not _wants_json():
                return redirect("/", 303)  # a forged logout: the person stays logged in, on the home page
            raise DomainError.one("csrf_invalid", "Thiếu hoặc sai mã CSRF: không đăng xuất.", "csrf_token", 400)
        with ytcs().session() as s:
            accounts.revoke_session(s, sid)
            s.commit()
    session.clear()
    if _wants_json():
        return jsonify({"status": "ok"})
    return redirect("/login", 303)


@bp.get("/api/v1/auth/me")
@allow(*READ_ROLES)
@doc(response=Me)
def me() -> Any:
    """Who is calling: name, role, unit scope, and whether personal data in claims is shown to them."""
    return jsonify(_me(g.principal))
