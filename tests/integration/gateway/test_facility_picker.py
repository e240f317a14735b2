"""The facility picker of the pages that take a facility (Giám định, Đối soát, Quyết toán quý, Định suất trong năm)
on a system with no facility the person may see: the page says so and where facilities come from, instead of an
empty list (macros.html facility_select). Against a stand-in claims on the real broker (fake_services.py)."""

from __future__ import annotations

import lxml.html
import pytest

from tests.integration.gateway.fake_services import FakeService, running

HTML = {"Accept": "text/html"}
PAGES = ("/reconciliation", "/capitation/quarter", "/capitation/year", "/claims/records")


def picker(gw, role: str, unit: str | None, path: str) -> lxml.html.HtmlElement:
    r = gw.client.get(path, headers={**HTML, **gw.headers(role, unit)})
    assert r.status_code == 200, r.get_data(as_text=True)
    return lxml.html.fromstring(r.get_data(as_text=True))


@pytest.mark.parametrize("path", PAGES)
def test_no_facility_yet_is_said_with_where_they_come_from(gw, gw_amqp, path):
    answers = {"facilities_seen": lambda _known: [], "quarters_on_record": lambda _s: [], "reasons": lambda: []}
    claims = FakeService(gw_amqp, "claims", answers)
    with running(claims):
        page = picker(gw, "admin", None, path)
        [note] = page.xpath('//p[@id="no-facilities"]')
        assert note.text_content().startswith("Chưa có cơ sở KCB nào trong phạm vi được xem")
        assert note.xpath('.//a/@href') == ["/facilities", "/claims"]  # an admin is sent where to fill them in
        assert page.xpath('//select[@name="facility"]/option/@value') == [""]
        r = gw.client.post(
            "/api/v1/facilities",
            json={"code": "91003", "name": "Trạm Y tế xã Vĩnh Bình", "unit": "31064"},
            headers=gw.headers("admin"),
        )
        assert r.status_code == 201, r.get_data(as_text=True)
        page = picker(gw, "admin", None, path)
        assert not page.xpath('//p[@id="no-facilities"]')
        # The claims page offers, last, every facility for a search by MA_LK or card.
        every = [""] if path == "/claims/records" else []
        assert page.xpath('//select[@name="facility"]/option/@value') == ["91003", *every]
        # Someone bound to a unit that facility does not serve: told, with no link to the admin's page.
        if path != "/claims/records":  # health data: bhxh and admin only
            page = picker(gw, "viewer", "30742", path)
            [note] = page.xpath('//p[@id="no-facilities"]')
            assert not note.xpath(".//a") and "quản trị viên" in note.text_content()
