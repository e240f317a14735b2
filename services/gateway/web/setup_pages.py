"""The first admin account, created from the browser with the one-time link `ytcs run` prints (first_admin.py).

Public pages (no one can log in yet), guarded by the link's token instead: a wrong, used or expired token, or
any admin already there, gets the same "link dead" page. The form posts with the page's CSRF token like every
other form, and the account is made by the same accounts.create_user as `ytcs user create` (same rules for
names and passwords); then the person logs in on the ordinary login page.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request
from marshmallow import Schema, fields, validate

from services.common.errors import DomainError
from services.gateway import accounts, errors, first_admin
from services.gateway.application.access import public
from services.gateway.application.remote import ytcs
from services.gateway.web.common import bp, page, page_args, render, wants_html

DEAD_LINK = (
    "Liên kết tạo tài khoản quản trị không còn dùng được (sai, đã dùng, đã hết hạn, hoặc hệ thống đã có quản trị "
    "viên). Hãy đăng nhập, hoặc chạy lại `make run` để nhận liên kết mới khi chưa có tài khoản nào."
)


class SetupQuery(Schema):
    token = fields.String(validate=validate.Length(max=200), metadata={"example": "one-time-token"})


class SetupForm(Schema):
    token = fields.String(required=True, validate=validate.Length(max=200))
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(max=accounts.MAX_PASSWORD))
    password2 = fields.String(required=True, validate=validate.Length(max=accounts.MAX_PASSWORD))


def _open(token: str) -> bool:
    """The link still works: its token is the one issued and no admin exists yet."""
    if not first_admin.valid(token):
        return False
    with ytcs().session() as s:
        return not first_admin.has_admin(s)


def _dead() -> DomainError:
    """404, an HTML page for people and the API's error shape for programs (common.domain_error)."""
    return DomainError.one("setup_link_dead", DEAD_LINK, None, 404)


def _refused(token: str, username: str, status: int, code: str, message: str) -> Any:
    """The form again with the reason next to it; the API's error shape for a client that is not a browser."""
    if not wants_html():
        return errors.body([{"field": None, "code": code, "message": message}], status)
    return render("setup.html", status, token=token, username=username, message=message)


@bp.get("/setup")
@public
@page(query=SetupQuery)
def setup_page() -> Any:
    """The form creating the first admin account (only with the one-time link's token)."""
    token = page_args(SetupQuery()).get("token", "")
    if not _open(token):
        raise _dead()
    return render("setup.html", token=token, username="", message=None)


@bp.post("/setup")
@public
@page(body=SetupForm)
def setup_submit() -> Any:
    """Create the first admin account, spend the link, and send the person to the login page."""
    form = {k: request.form.get(k, "") for k in ("token", "username", "password", "password2")}
    username = form["username"].strip()
    g.audit_actor = f"setup:{username[:80]}"
    g.audit_details = {"username": username[:80], "role": "admin"}  # never the password or the token
    if not _open(form["token"]):
        raise _dead()
    if form["password"] != form["password2"]:
        return _refused(form["token"], username, 422, "password_mismatch", "Hai lần nhập mật khẩu khác nhau.")
    with ytcs().session() as s:
        try:
            accounts.create_user(s, username, form["password"], "admin", None)
        except DomainError as exc:
            first = exc.errors[0]
            return _refused(form["token"], username, exc.status, first["code"], first["message"])
        if not first_admin.consume(form["token"]):
            s.rollback()  # another request used the link first (_open saw no admin before this one)
            raise _dead()
        s.commit()
    flash(f"Đã tạo tài khoản quản trị {username}. Mời đăng nhập.", "ok")
    return redirect("/login?next=/", 303)
