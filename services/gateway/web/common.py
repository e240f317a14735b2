"""What every page shares: the blueprint, CSRF on every POST, rendering, form decoding, errors for people.

A browser (Accept: text/html) gets HTML: the login page when it is not logged in (or its session expired), a
page saying why when its role may not, the form again with the service's Vietnamese message next to it when
a write is refused. Any other client (scripts, the API test suites) gets the API's JSON error shapes, so
the role × endpoint matrix and the OpenAPI checks hold for pages as for the API.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf
from marshmallow import Schema, ValidationError, fields
from wtforms.validators import ValidationError as WTFormsValidationError

from services.common.contracts.fields import VND
from services.common.errors import DomainError
from services.gateway import errors, hooks
from services.gateway.application import access
from services.gateway.errors import Unavailable
from services.gateway.openapi import doc

bp = Blueprint("web", __name__)
log = logging.getLogger(__name__)
HTML = "text/html"
FINANCE_WRITERS = ("admin", "finance")
BHXH_WRITERS = ("admin", "bhxh")


def page(
    query: type[Schema] | None = None,
    body: type[Schema] | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> Callable[..., Any]:
    """OpenAPI description of a page (every route is in the document): HTML answers, form bodies.

    A form body is described as an object naming its fields, not with the contract schema itself: the fields
    are decoded from text (web forms) before that schema loads them, and the OpenAPI fuzz run (schemathesis,
    4 threads) crashed inside Hypothesis when it derived typed negatives for form-encoded properties."""
    if body is not None:
        names = ", ".join(sorted(body().fields))
        form = {"type": "object", "description": f"Form fields (with csrf_token): {names}"}
        return doc(body=form, content_type=content_type, status=303, response_content_type=HTML)
    return doc(query=query, response_content_type=HTML)


def record_id(text: str, field: str = "id") -> int:
    """A record number in a page's path. Pages take it as text and answer an unknown one themselves (404 in
    HTML for people, JSON for programs): Flask's own 404 for a number past 64 bits would be neither."""
    if text.isascii() and text.isdigit() and 0 < int(text) < 2**63:
        return int(text)
    raise DomainError.one("not_found", f"Không có bản ghi số {text[:30]}.", field, 404)


def wants_html() -> bool:
    return HTML in request.headers.get("Accept", "")


@bp.before_request
def check_csrf() -> Response | None:
    """Every form post carries the session's CSRF token (field `csrf_token` or header X-CSRFToken). Runs after
    access.enforce (app-level hooks first), so a stranger still gets 401 and a wrong role 403."""
    if request.method != "POST":
        return None
    if hooks.is_streamed(request.endpoint):
        return None  # a streamed upload reads its form itself and calls verify_csrf before storing a byte
    verify_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRFToken"))
    return once_per_form()


def verify_csrf(token: str | None) -> None:
    """Raise CSRFError unless `token` is the session's CSRF token (and, over HTTPS, the form is this site's)."""
    # flask_wtf's validate_csrf (signature, session binding, age), fed the token directly: its protect() walks
    # every form key and fails with a 500 on a multipart part without a name.
    try:
        validate_csrf(token)
    except WTFormsValidationError as exc:
        raise CSRFError(exc.args[0] if exc.args else "CSRF") from exc
    if request.is_secure and current_app.config.get("WTF_CSRF_SSL_STRICT", True):
        # Over HTTPS, as flask_wtf does: the form must come from this site's own pages.
        good = f"https://{request.host}/"
        if not (request.referrer or "").startswith(good):
            raise CSRFError("The referrer does not match the host.")


FORM_KEY = "form_key"  # hidden in every form that records something: its Idempotency-Key
NOT_ENTERED = ("csrf_token", FORM_KEY)  # form fields that are not what the person entered


def new_form_key() -> str:
    """A key per rendered form (templates call it): a form re-shown with its errors gets a new one."""
    return uuid.uuid4().hex


def once_per_form() -> Response | None:
    """A form sent twice (a double click, a resend after a slow answer) records once: the second sending
    gets the first one's redirect. After the CSRF check, so only this site's own pages can use a key."""
    key = request.form.get(FORM_KEY) if request.mimetype == "application/x-www-form-urlencoded" else None
    if not key:
        return None
    digest = hashlib.sha256(request.query_string + b"\n")
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(f"{name}={value}\n".encode())
    replay = hooks.begin_idempotent(key, digest.hexdigest(), form=True)
    if replay is not None:
        flash("Biểu mẫu này đã được ghi ở lần gửi trước; không ghi lần thứ hai.", "ok")
    return replay


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, principal=g.get("principal"), **context), status


def visible(data: Any) -> Any:
    """Claim data as the person may see it: personal fields masked (access.mask_personal) unless the role is
    admin or bhxh, whatever the service answered. The same rule as the API's response filter (hooks.py)."""
    principal = g.get("principal")
    if principal is not None and principal.sees_personal_data:
        return data
    return access.mask_personal(data)[0]


# --------------------------------------------------------------------------- forms


def page_args(schema: Schema) -> dict[str, Any]:
    """Query parameters of a page's filter form: an input left empty ("?code=") means no filter."""
    repeated = [k for k in request.args if len(request.args.getlist(k)) > 1]
    if repeated:
        raise DomainError.one("repeated_parameter", f"Tham số {repeated[0]} chỉ được ghi một lần.", repeated[0], 422)
    return schema.load({k: v for k, v in request.args.items() if v.strip() != ""})


def form_data(schema: Schema, form: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTML form decoded for a contract schema: empty inputs are absent; money stays text for the VND field,
    which reads it with the one money reader (contracts.fields.parse_vnd: "1.200.000.000", "1 200 000 000 đ";
    "1000000.5" refused, never read as 10.000.005); other integers (ids, years) are plain digits.
    Validation stays the schema's."""
    raw = dict(form if form is not None else request.form.to_dict())
    for name in NOT_ENTERED:
        raw.pop(name, None)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        value = value.strip()
        if value == "" or key not in schema.fields:
            continue
        field = schema.fields[key]
        if isinstance(field, fields.Integer) and not isinstance(field, VND) and re.fullmatch(r"-?[0-9]{1,30}", value):
            out[key] = int(value)
            continue
        out[key] = value
    return out


def form_errors(exc: Exception) -> list[dict[str, Any]]:
    """The Vietnamese messages of a refused write, in the API's error shape, each with the label a page shows
    next to it (errors.failure: the one mapping of failures)."""
    found = errors.failure(exc, for_page=True)
    if found is None:
        raise exc
    if isinstance(exc, ValidationError):
        log.info("form refused: %s", [(e["field"], e["code"]) for e in found[0]])  # the technical detail, for the log
    if isinstance(exc, Unavailable):
        return found[0]
    return errors.with_labels(found[0])


def form_status(exc: Exception) -> int:
    """The status of a page showing a refused form: the failure's own (403 outside one's unit, 422 a rule)."""
    found = errors.failure(exc, for_page=True)
    return found[1] if found is not None else 422


WRITE_ERRORS = (ValidationError, DomainError, Unavailable)


def write_form(
    schema: Schema,
    write: Callable[[dict[str, Any]], dict[str, Any]],
    refused: Callable[[Exception], Any],
    done: Callable[[dict[str, Any]], Any],
) -> Any:
    """The one way a page records a form: decoded for `schema` and loaded by it, recorded by `write` (an
    application function, the same as the API's); a refusal answers `refused(exc)` (the page again, with the
    messages), a success notes the new record for the audit entry and answers `done(out)` (a redirect)."""
    try:
        out = write(schema.load(form_data(schema)))
    except WRITE_ERRORS as exc:
        return refused(exc)
    if out.get("id") is not None:
        g.audit_details["result_id"] = out["id"]
    return done(out)


def then_go(message: str, endpoint: str, **values: Any) -> Callable[[dict[str, Any]], Any]:
    """A success answer for `write_form`: `message` flashed, then to `endpoint` (303: a reload does not post
    the form again). `message` may name the record's fields ("{id}", "{period}")."""

    def done(out: dict[str, Any]) -> Any:
        flash(message.format(**out), "ok")
        return redirect(url_for(endpoint, **values), 303)

    return done


def show_refused(exc: Exception, *pages: Callable[[int, list[dict[str, Any]], dict[str, str]], Any]) -> Any:
    """A refused form's page again, with the status and messages of the refusal and what was entered. When the
    page itself cannot be shown (the form named something unknown or out of scope), the next, plainer one is."""
    for n, show in enumerate(pages, 1):
        try:
            return show(form_status(exc), form_errors(exc), request.form.to_dict())
        except WRITE_ERRORS:
            if n == len(pages):
                raise
    raise exc


def audit_form(**details: Any) -> None:
    """What the person entered, for the audit entry hooks.py writes for this POST (forms are not JSON)."""
    form = {k: v for k, v in request.form.items() if k not in NOT_ENTERED}
    g.audit_details = {"form": form, **details}


# --------------------------------------------------------------------------- errors for people


def _login_redirect() -> Response:
    target = request.full_path if request.query_string else request.path
    return redirect("/login?" + urlencode({"next": target}), 303)


@bp.errorhandler(DomainError)
@bp.errorhandler(ValidationError)
@bp.errorhandler(Unavailable)
def refused(exc: Exception) -> Any:
    """A page's failure: JSON for programs (as the API answers it), for people the login page when not logged
    in, else the error page with the messages."""
    found = errors.failure(exc, for_page=isinstance(exc, Unavailable))
    assert found is not None  # registered for exactly the kinds `failure` answers
    errs, status, _headers = found
    if not wants_html():
        response, status = errors.body(errs, status)
        if isinstance(exc, Unavailable):
            response.headers["Retry-After"] = "5"
        return response, status
    if status == 401:
        return _login_redirect()  # not logged in, or the session expired
    return render("error.html", status, errors=errs if isinstance(exc, Unavailable) else errors.with_labels(errs))


# What routing's failures mean to a person on a page address (the codes stay the API's).
_FOR_PEOPLE = {
    404: ("Không tìm thấy trang", "Không có trang nào ở địa chỉ này. Kiểm tra lại địa chỉ, hoặc chọn một mục trên "
          "thanh trình đơn."),
    405: ("Không mở trực tiếp được", "Địa chỉ này chỉ nhận dữ liệu gửi từ một biểu mẫu. Mở trang có biểu mẫu đó "
          "để làm tiếp."),
    500: ("Lỗi hệ thống", None),  # the message carries the request id to quote
}


def error_page(errs: list[dict[str, Any]], status: int) -> tuple[str, int] | None:
    """The app-level failures (an unknown address, a wrong method, a crash: errors.install) as the error page
    for a browser on a page address; None for any other client, which gets the JSON answer."""
    if not wants_html():
        return None
    if g.get("principal") is None:  # no route, so access.enforce did not look: who is here, for the menu
        g.principal = access.authenticate()  # should this fail too, errors.install answers JSON
    heading, message = _FOR_PEOPLE.get(status, ("Không thực hiện được", None))
    shown = [{**e, "message": message} for e in errs] if message else errs
    return render("error.html", status, errors=shown, heading=heading)


@bp.errorhandler(CSRFError)
def csrf_refused(exc: CSRFError) -> Any:
    errs = [
        {
            "field": "csrf_token",
            "code": "csrf_invalid",
            "message": "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã CSRF). Vui lòng tải lại trang và gửi lại.",
        }
    ]
    if not wants_html():
        return errors.body(errs, 400)
    return render("error.html", 400, errors=errs)
