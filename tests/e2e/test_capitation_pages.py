"""The BHXH page of a facility's quarter: a report recorded from the form shows the figures kept from the
claims, the 80% advance and its due dates; the same through the API's answer; refusals shown in Vietnamese."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import requests

from tests.e2e.test_claims_api import auth, make_file, send
from tests.e2e.test_web_pages import PASSWORD, Browser

FACILITY = "91219"


def test_a_bhxh_officer_records_a_quarterly_report_and_sees_its_advance(stack):
    stack.ytcs("user", "create", "--username", "cap-bhxh", "--role", "bhxh", stdin=PASSWORD + "\n")
    stack.ytcs("user", "create", "--username", "cap-xem", "--role", "viewer", stdin=PASSWORD + "\n")
    token = stack.token("bhxh")
    data, summary = make_file(FACILITY, records=8, year=2024, months=[4, 5, 6], seed=7)
    send(stack, token, data)
    total = summary.totals[(FACILITY, "2024-Q2")].t_bhtt
    advance = int((total * Decimal("0.80")).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    b = Browser(stack.url)
    b.login("cap-bhxh")
    page = b.get(f"/capitation/quarter?facility={FACILITY}&period=2024-Q2")
    assert page.status_code == 200 and 'id="report-form"' in page.text and "Chưa nhận báo cáo" in page.text

    form = {"facility_code": FACILITY, "period": "2024-Q2"}
    refused = b.post("/capitation/quarter/report", {**form, "received_date": "2024-06-01"})
    assert refused.status_code == 422 and "chỉ nhận được sau khi hết quý" in refused.text

    r = b.post("/capitation/quarter/report", {**form, "received_date": "2024-07-10"})
    assert r.status_code == 303, r.text
    page = b.get(r.headers["Location"])
    # Received Wed 10/7/2024: advance due 17/7 (5 working days), result due 9/8 (30 days).
    shown = re.search(r'id="report-advance"><strong>([^<]+)<', page.text).group(1)
    assert re.sub(r"\D", "", shown) == str(advance)
    assert 'id="report-advance-due">17/07/2024<' in page.text
    assert 'id="report-result-due">09/08/2024<' in page.text
    assert 'id="step-advance"' in page.text and "Quá hạn" in page.text  # no Q3 advance recorded

    api = requests.get(
        stack.url + "/api/v1/capitation/advances/suggestion",
        params={"facility": FACILITY, "period": "2024-Q3"},
        headers=auth(token),
        timeout=30,
    ).json()
    assert (api["suggested"], api["due"]) == (advance, "2024-07-17")

    viewer = Browser(stack.url)
    viewer.login("cap-xem")
    seen = viewer.get(f"/capitation/quarter?facility={FACILITY}&period=2024-Q2")
    assert seen.status_code == 200 and 'id="report-form"' not in seen.text and "17/07/2024" in seen.text
    assert viewer.post("/capitation/quarter/report", {**form, "received_date": "2024-07-11"}).status_code == 403
