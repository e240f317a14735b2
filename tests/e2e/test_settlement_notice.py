"""BHXH's home page names the capitation settlement steps past due (web/finance_pages._settlement_overdue), through
the running system: a facility's quarter reported and then neither advanced nor assessed in time is on its bhxh
officer's home page, linked to the quarter's page, and leaves it once BHXH records the steps.

The quarter is two before today's, so its advance and result are past due whenever the suite runs. The facility
(91958) and its commune (Xã 30958) are this module's own on the shared stack."""

from __future__ import annotations

from datetime import timedelta

import lxml.html
import pytest

from services.common import clock
from services.common.periods import Quarter
from tests.e2e.test_capitation_by_law import post
from tests.e2e.test_claims_api import make_file, send
from tests.e2e.test_web_pages import PASSWORD, Browser

FACILITY, UNIT = "91958", "30958"


@pytest.fixture(scope="module")
def quarter():
    today = clock.today()
    return Quarter.of_month(today.year, today.month).previous().previous()


def notice(b: Browser) -> list[str]:
    page = lxml.html.fromstring(b.get("/").text)
    return [" ".join(li.text_content().split()) for li in page.xpath('//*[@id="settlement-overdue"]//li')]


def test_a_reported_quarter_not_advanced_nor_assessed_in_time_is_on_the_bhxh_home_page(stack, quarter):
    admin, bhxh = stack.token("admin"), stack.token("bhxh")
    r = post(stack, admin, "/facilities", {"code": FACILITY, "name": "Trạm Y tế thử", "unit": UNIT})
    assert r.status_code == 201, r.text
    data, _ = make_file(FACILITY, records=4, year=quarter.year, months=list(quarter.months), seed=58)
    assert send(stack, bhxh, data)["records"]["accepted"] == 4
    received = quarter.next().start + timedelta(days=4)
    body = {"facility_code": FACILITY, "period": str(quarter), "received_date": received.isoformat()}
    report = post(stack, bhxh, "/capitation/reports", body)
    assert report.status_code == 201, report.text
    advance = report.json()["advance"]

    stack.ytcs("user", "create", "--username", "p19-bhxh-30958", "--role", "bhxh", "--unit", UNIT,
               stdin=PASSWORD + "\n")  # fmt: skip
    b = Browser(stack.url)
    b.login("p19-bhxh-30958")
    shown = f"Quý {['I', 'II', 'III', 'IV'][quarter.quarter - 1]}/{quarter.year} · cơ sở {FACILITY}"
    lines = notice(b)
    assert len(lines) == 2 and all(line.startswith(shown + " – Trạm Y tế thử:") for line in lines), lines
    assert "Tạm ứng quý" in lines[0] and "BHXH thông báo kết quả giám định" in lines[1]
    page = lxml.html.fromstring(b.get("/").text)
    assert page.xpath('//*[@id="settlement-overdue"]//a/@href')[0].endswith(
        f"/capitation/quarter?facility={FACILITY}&period={quarter}"
    )

    # BHXH pays the advance and notifies the result: nothing is past due any more.
    paid = {"facility_code": FACILITY, "period": advance["period"], "amount": advance["amount"],
            "date": clock.today().isoformat()}  # fmt: skip
    assert post(stack, bhxh, "/capitation/advances", paid).status_code == 201
    assert [line for line in notice(b) if "Tạm ứng" in line] == []
    result = {"facility_code": FACILITY, "period": str(quarter), "result_date": clock.today().isoformat()}
    assert post(stack, bhxh, "/capitation/results", result).status_code == 201, "result"
    assert notice(b) == []

    # A finance officer settles nothing with BHXH: no notice.
    stack.ytcs("user", "create", "--username", "p19-tc-30958", "--role", "finance", "--unit", UNIT,
               stdin=PASSWORD + "\n")  # fmt: skip
    finance = Browser(stack.url)
    finance.login("p19-tc-30958")
    assert notice(finance) == [] and 'id="settlement-overdue"' not in finance.get("/").text


def test_a_contracted_quarter_whose_report_never_came_is_on_the_bhxh_home_page_until_it_does(stack, quarter):
    """A facility holding a capitation fund owes a report for the quarter in the first 15 days of the next (Luật
    BHYT Điều 32 k2): one never recorded is a step past due like BHXH's, named on the same notice."""
    earlier = quarter.previous()  # its report was due more than a quarter ago
    fund = {"facility_code": FACILITY, "period": str(earlier), "cards": 100, "rate_per_card": 10_000,
            "coefficient": "1"}  # fmt: skip
    assert post(stack, stack.token("finance"), "/capitation/funds", fund).status_code == 201
    b = Browser(stack.url)
    b.login("p19-bhxh-30958")  # made by the test above
    [line] = notice(b)
    assert line.startswith(f"Quý {['I', 'II', 'III', 'IV'][earlier.quarter - 1]}/{earlier.year} · cơ sở {FACILITY}")
    assert "Cơ sở gửi báo cáo quyết toán quý" in line, line

    # The report comes in today, late: that step is done, and what it starts is not due yet.
    body = {"facility_code": FACILITY, "period": str(earlier), "received_date": clock.today().isoformat()}
    assert post(stack, stack.token("bhxh"), "/capitation/reports", body).status_code == 201
    assert notice(b) == []
