"""Failures that no page handles itself (an address no route has, a GET on a form's address, a crash) reach a
person's browser as the error page in Vietnamese, inside the site's frame; programs keep the API's JSON
(services/gateway/errors.py `install`, services/gateway/web/common.py `error_page`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Blueprint, Flask

from services.gateway.application.access import READ_ROLES, allow
from tests.integration.gateway.conftest import Gateway, login_token, make_gateway

PASSWORD = "mật khẩu đủ dài"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # as a browser asks


def _broken_page(app: Flask) -> None:
    bp = Blueprint("broken_page", __name__)

    @bp.get("/trang-hong")
    @allow(*READ_ROLES)
    def broken() -> str:
        raise RuntimeError("a bug in a page")

    app.register_blueprint(bp)


@pytest.fixture
def pages(any_db_url: str, gw_amqp: str) -> Iterator[Gateway]:
    gateway = make_gateway(any_db_url, gw_amqp, _broken_page)
    yield gateway
    gateway.app.extensions["ytcs"].engine.dispose()
    gateway.db.kw["bind"].dispose()


def _logged_in(gw: Gateway):
    gw.user("ketoan", PASSWORD, "finance", "910")
    browser = gw.app.test_client()
    form = {"username": "ketoan", "password": PASSWORD, "next": "/", "csrf_token": login_token(browser)}
    r = browser.post("/login", data=form, headers=HTML)
    assert r.status_code == 303
    return browser


def test_an_unknown_address_is_the_not_found_page_in_vietnamese(pages):
    browser = _logged_in(pages)
    r = browser.get("/phan-bo-cu", headers=HTML)
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "<h1>Không tìm thấy trang</h1>" in page and "Không có trang nào ở địa chỉ này" in page
    assert "Not Found" not in page
    assert 'class="brand"' in page and 'href="/">Trang chính</a>' in page  # the site's frame, a way home
    assert '<nav class="menu">' in page and "ketoan" in page  # the person's menu, as on every page

    anonymous = pages.app.test_client().get("/phan-bo-cu", headers=HTML)
    shown = anonymous.get_data(as_text=True)
    assert anonymous.status_code == 404 and "Không tìm thấy trang" in shown
    assert '<nav class="menu">' not in shown


def test_opening_a_forms_address_says_so_and_names_the_allowed_method(pages):
    browser = _logged_in(pages)
    r = browser.get("/claims/files", headers=HTML)  # where the upload form posts to
    page = r.get_data(as_text=True)
    assert r.status_code == 405 and r.mimetype == "text/html"
    assert "Không mở trực tiếp được" in page and "chỉ nhận dữ liệu gửi từ một biểu mẫu" in page
    assert "POST" in r.headers["Allow"]


def test_programs_still_get_json_on_pages_and_the_api(pages):
    token = pages.headers("viewer")
    r = pages.client.get("/phan-bo-cu", headers=token)
    assert r.status_code == 404 and r.json["errors"][0]["code"] == "not_found"
    r = pages.client.get("/claims/files", headers=token)
    assert r.status_code == 405 and r.json["errors"][0]["code"] == "method_not_allowed"
    assert "POST" in r.headers["Allow"]
    # An API address answers JSON even to a browser's Accept.
    r = pages.client.get("/api/v1/khong-co", headers={**token, **HTML})
    assert r.status_code == 404 and r.json["errors"][0]["code"] == "not_found"
    r = pages.client.delete("/api/v1/facilities", headers={**token, **HTML})
    assert r.status_code == 405 and r.json["errors"][0]["code"] == "method_not_allowed"
    assert r.headers["Allow"]


def test_a_crash_on_a_page_is_the_error_page_with_the_id_to_quote(pages):
    browser = _logged_in(pages)
    r = browser.get("/trang-hong", headers={**HTML, "X-Request-Id": "abc123"})
    page = r.get_data(as_text=True)
    assert r.status_code == 500 and r.mimetype == "text/html"
    assert "<h1>Lỗi hệ thống</h1>" in page and "(mã abc123)" in page
    assert "a bug in a page" not in page  # nothing of the fault itself is shown

    r = pages.client.get("/trang-hong", headers=pages.headers("viewer"))
    assert r.status_code == 500 and r.json["errors"][0]["code"] == "internal_error"
