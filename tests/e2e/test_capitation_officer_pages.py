"""Issue 16's pages for capitation, through the running system: a finance officer records a facility's year fund
with its card groups and document from the page; a BHXH officer records the quarterly report, the advance, the
result, a payment and a refund from the pages, and the yearly settlement with the stations' share; the year at a
glance shows the figures computed here by hand and what is overdue, the same as the API's answers; the
reconciliation page and its Excel show the overdue steps with their due dates and the capitation split by
registration. The year's settlement in force (and the one it superseded) is on a fresh GET of the year page, the
same as the API's year. A role that does not own a write gets 403 on its page."""

from __future__ import annotations

import io
import re
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests
from openpyxl import load_workbook

from tests.e2e.test_claims_api import auth, make_file, send
from tests.e2e.test_web_pages import PASSWORD, Browser

FACILITY = "91231"  # a facility of its own (the stack is shared between test modules)


def whole(d: Decimal) -> int:
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def cell(page: str, ident: str) -> str:
    m = re.search(rf'id="{re.escape(ident)}"[^>]*>(?:<strong>)?([^<]*)<', page)
    assert m, ident
    return m.group(1)


def api(stack, token: str, path: str, **params: Any) -> dict[str, Any]:
    r = requests.get(stack.url + "/api/v1" + path, params=params, headers=auth(token), timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def people(stack):
    for name, role in (("cap-ketoan", "finance"), ("cap-bhxh2", "bhxh"), ("cap-xem2", "viewer")):
        stack.ytcs("user", "create", "--username", name, "--role", role, stdin=PASSWORD + "\n")
    out = {}
    for role, name in (("finance", "cap-ketoan"), ("bhxh", "cap-bhxh2"), ("viewer", "cap-xem2")):
        b = Browser(stack.url)
        b.login(name)
        out[role] = b
    return out


@pytest.fixture(scope="module")
def claims(stack):
    """Q2 and Q3 2024 claims of the facility (fee-for-service and capitation lines mixed), sent by BHXH."""
    token = stack.token("bhxh")
    q2, s2 = make_file(FACILITY, records=8, year=2024, months=[4, 5, 6], seed=31)
    q3, s3 = make_file(FACILITY, records=6, year=2024, months=[7, 8, 9], seed=32)
    send(stack, token, q2)
    send(stack, token, q3)
    return {
        "token": token,
        "Q2": s2.totals[(FACILITY, "2024-Q2")].t_bhtt,
        "Q3": s3.totals[(FACILITY, "2024-Q3")].t_bhtt,
    }


def year_page(b: Browser) -> str:
    r = b.get(f"/capitation/year?facility={FACILITY}&year=2024")
    assert r.status_code == 200, r.text[:500]
    return r.text


def test_officers_record_every_capitation_step_from_the_pages(stack, people, claims):
    fin, bhxh, viewer = people["finance"], people["bhxh"], people["viewer"]
    base = {"facility_code": FACILITY, "back": "year"}

    # A finance officer: the year's fund from two card groups and a coefficient, with its document.
    page = year_page(fin)
    assert 'id="fund-form"' in page and 'id="settlement-form"' not in page and "advance-form-" not in page
    fund_form = {
        **base,
        "period": "2024",
        "group_1": "HT",
        "cards_1": "1.200",
        "rate_per_card_1": "250.000",
        "group_2": "TE",
        "cards_2": "800",
        "rate_per_card_2": "180.000",
        "coefficient": "1,05",
        "decision_no": "15/TB-BHXH",
        "decision_date": "2024-01-20",
    }
    refused = fin.post("/capitation/fund", {**fund_form, "cards_2": "tám trăm"})
    assert refused.status_code == 422 and 'class="field-error"' in refused.text and "(dòng 2)" in refused.text
    assert 'value="tám trăm"' in refused.text  # what was typed stays
    r = fin.post("/capitation/fund", fund_form)
    assert r.status_code == 303, r.text[:800]
    fund = whole((Decimal(1200 * 250_000 + 800 * 180_000)) * Decimal("1.05"))  # 466 200 000
    page = fin.get(r.headers["Location"]).text
    assert digits(cell(page, "year-fund-amount")) == fund == 466_200_000
    assert "15/TB-BHXH" in cell(page, "year-fund-decision") and "20/01/2024" in cell(page, "year-fund-decision")
    assert cell(page, "year-fund-coefficient") == "1,05"
    # How the fund is computed, in words (the API's `formula` is for programs).
    assert cell(page, "year-fund-formula").startswith("Quỹ = Σ (số thẻ × suất phí mỗi thẻ) × hệ số điều chỉnh")

    # BHXH: the Q2 report (quarter page), the Q2 advance and the Q3 advance (year page), Q2's result and payment.
    page = year_page(bhxh)
    assert 'id="fund-form"' not in page and 'id="advance-form-2024-Q2"' in page
    r = bhxh.post("/capitation/quarter/report", {**base, "period": "2024-Q2", "received_date": "2024-07-10"})
    assert r.status_code == 303 and "/capitation/year" in r.headers["Location"], r.text[:800]
    q2_advance = whole(claims["Q2"] * Decimal("0.80"))
    page = year_page(bhxh)
    assert Decimal(cell(page, "2024-Q2-report-total").replace(".", "").replace(",", ".").split()[0]) == claims["Q2"]
    assert digits(cell(page, "2024-Q3-advance-suggested")) == q2_advance

    assert (
        bhxh.post(
            "/capitation/advance", {**base, "period": "2024-Q2", "amount": "100.000", "date": "2024-04-08"}
        ).status_code
        == 303
    )
    r = bhxh.post(
        "/capitation/advance",
        {**base, "period": "2024-Q3", "amount": f"{q2_advance:,}".replace(",", "."), "date": "2024-07-16"},
    )
    assert r.status_code == 303, r.text[:800]
    # A decimal amount is refused by name, never read as something else.
    bad = bhxh.post("/capitation/advance", {**base, "period": "2024-Q3", "amount": "1000000.5", "date": "2024-07-16"})
    assert bad.status_code == 422 and 'class="field-error"' in bad.text

    # BHXH approves every Q2 claim in full (API: the assessment pages are another test's), then the result.
    token = claims["token"]
    items = api(stack, token, "/claims", facility=FACILITY, period="2024-Q2", status="accepted", per_page=100)["items"]
    r = requests.post(
        stack.url + "/api/v1/claims/assessments",
        json={
            "facility_code": FACILITY,
            "items": [{"ma_lk": c["ma_lk"], "approved_amount": c["t_bhtt"]} for c in items],
        },
        headers=auth(token),
        timeout=60,
    )
    assert r.status_code == 201, r.text
    r = bhxh.post(
        "/capitation/quarter/result", {**base, "period": "2024-Q2", "result_date": "2024-08-05", "reference": "TB-9"}
    )
    assert r.status_code == 303, r.text[:800]
    q2_to_pay = whole(claims["Q2"]) - 100_000
    page = year_page(bhxh)
    assert digits(cell(page, "2024-Q2-result-to-pay")) == q2_to_pay
    assert 'id="payment-form-2024-Q2"' in page
    r = bhxh.post(
        "/capitation/quarter/payment",
        {
            **base,
            "period": "2024-Q2",
            "kind": "payment",
            "amount": f"{q2_to_pay:,}".replace(",", "."),
            "date": "2024-08-14",
        },
    )
    assert r.status_code == 303, r.text[:800]

    # Q3: reported, no claim assessed: its result approves nothing, so the whole Q3 advance is refunded.
    assert (
        bhxh.post(
            "/capitation/quarter/report", {**base, "period": "2024-Q3", "received_date": "2024-10-08"}
        ).status_code
        == 303
    )
    assert (
        bhxh.post("/capitation/quarter/result", {**base, "period": "2024-Q3", "result_date": "2024-10-20"}).status_code
        == 303
    )
    page = year_page(bhxh)
    assert "Tạm ứng thừa" in page and digits(cell(page, "2024-Q3-result-to-pay")) == q2_advance
    too_much = bhxh.post(
        "/capitation/quarter/payment",
        {**base, "period": "2024-Q3", "kind": "refund", "amount": str(q2_advance + 1), "date": "2024-10-25"},
    )
    assert too_much.status_code == 422 and "advance-form-2024-Q3" in too_much.text  # the year page again
    r = bhxh.post(
        "/capitation/quarter/payment",
        {**base, "period": "2024-Q3", "kind": "refund", "amount": str(q2_advance), "date": "2024-10-25"},
    )
    assert r.status_code == 303, r.text[:800]

    # The year at a glance, figures by hand.
    page = year_page(viewer)
    for form in ("fund-form", "settlement-form", "advance-form-", "report-form-", "result-form-", "payment-form-"):
        assert f'id="{form}' not in page  # a viewer reads only
    assert digits(cell(page, "2024-Q2-advance-paid")) == 100_000
    assert digits(cell(page, "2024-Q3-advance-paid")) == q2_advance
    assert digits(cell(page, "2024-Q2-payment-settled")) == q2_to_pay
    assert digits(cell(page, "2024-Q3-payment-settled")) == q2_advance
    # Overdue today: Q1's and Q4's reports were never received, and the Q4 advance Q3's report gave was not paid.
    q3_total = claims["Q3"]
    assert 'id="overdue-2024-Q1-report"' in page and 'id="overdue-2024-Q4-report"' in page
    assert 'id="overdue-2024-Q4-advance"' in page and 'class="bad"' in page
    q4_advance = whole(q3_total * Decimal("0.80"))
    # Received Tue 8/10/2024: 5 working days are Wed 9, Thu 10, Fri 11, Mon 14, Tue 15.
    assert "15/10/2024" in re.search(r'id="overdue-2024-Q4-advance".*?</tr>', page, re.S).group(0)
    assert digits(cell(page, "2024-Q4-advance-suggested")) == q4_advance

    # The same figures as the API's.
    for period in ("2024-Q2", "2024-Q3"):
        st = api(stack, token, "/capitation", facility=FACILITY, period=period)
        assert st["year_fund"]["fund"] == fund
        assert digits(cell(page, f"{period}-advance-paid")) == st["advanced"]
        sched = st["schedule"]
        assert Decimal(sched["report"]["total"]) == (claims["Q2"] if period == "2024-Q2" else q3_total)
        assert digits(cell(page, f"{period}-payment-settled")) == sched["steps"]["payment"]["settled"]
        assert digits(cell(page, f"{period}-result-to-pay")) == abs(sched["result"]["to_pay"])
    rec = api(stack, token, "/reconciliation", facility=FACILITY, period="2024-Q3")
    assert [(o["step"], o["due"]) for o in rec["overdue"]] == [("advance", "2024-10-15")]
    assert rec["settlement"]["steps"]["payment"]["date"] == "2024-10-25"

    # The refusal of a role that does not own the write: 403 on the page's POST.
    assert (
        fin.post("/capitation/advance", {**base, "period": "2024-Q2", "amount": "1", "date": "2024-04-08"}).status_code
        == 403
    )
    assert fin.post("/capitation/settlement", {**base, "period": "2024"}).status_code == 403
    assert (
        fin.post("/capitation/quarter/report", {**base, "period": "2024-Q4", "received_date": "2025-01-05"}).status_code
        == 403
    )
    assert bhxh.post("/capitation/fund", {**fund_form, "decision_no": "16/TB-BHXH"}).status_code == 403
    assert viewer.post("/capitation/fund", fund_form).status_code == 403


def wait_for_finance_spend(stack, token: str, period: str, spend: str) -> None:
    """Claims reports the capitation spend to finance by event: wait until finance holds the same level."""
    deadline = time.monotonic() + 30
    while api(stack, token, "/capitation", facility=FACILITY, period=period)["spend"] != spend:
        assert time.monotonic() < deadline, "finance never received claims' capitation spend"
        time.sleep(0.3)


def test_the_yearly_settlement_from_the_page_and_the_reconciliation_shows_what_is_overdue(stack, people, claims):
    bhxh, viewer = people["bhxh"], people["viewer"]
    token = claims["token"]
    spend = Decimal(0)
    for period in ("2024-Q2", "2024-Q3"):
        rec = api(stack, token, "/reconciliation", facility=FACILITY, period=period)
        wait_for_finance_spend(stack, token, period, rec["capitation"]["spend"])
        spend += Decimal(rec["capitation"]["spend"])
    base = {"facility_code": FACILITY, "period": "2024", "back": "year"}
    missing = bhxh.post("/capitation/settlement", base)
    assert missing.status_code == 422 and 'class="field-error"' in missing.text  # no default share
    r = bhxh.post(
        "/capitation/settlement",
        {
            **base,
            "station_share_rate": "25%",
            "station_share_decision_no": "7/QĐ-TTYT",
            "station_share_decision_date": "2025-01-15",
        },
    )
    assert r.status_code == 303, r.text[:800]
    page = bhxh.get(r.headers["Location"]).text
    surplus = 466_200_000 - whole(spend)
    share = whole(Decimal(surplus) * Decimal("0.25"))
    note = re.search(r'class="flash ok"[^>]*>([^<]*)<', page).group(1)
    assert "kết dư" in note and "7/QĐ-TTYT" in note and "15/01/2025" in note
    amounts = [int(re.sub(r"\D", "", a)) for a in re.findall(r"[0-9][0-9.]*\s*đ", note)]
    assert amounts[:2] == [466_200_000, whole(spend)] and surplus in amounts and share in amounts

    # A fresh GET of the year page shows the settlement in force, the same figures as the API's year.
    year = api(stack, token, "/capitation/years/2024", facility=FACILITY)
    st = year["settlement"]
    assert (st["fund"], st["spend_vnd"], st["surplus"], st["deficit"], st["station_share"]) == (
        466_200_000,
        whole(spend),
        surplus,
        0,
        share,
    )
    assert st["station_share_decision"] == {"number": "7/QĐ-TTYT", "date": "2025-01-15"}
    advanced = 100_000 + whole(claims["Q2"] * Decimal("0.80"))  # the Q2 and Q3 advances of the first test
    assert (st["advanced"], st["to_pay"], year["settlement_history"]) == (advanced, 466_200_000 - advanced, [])
    page = year_page(viewer)
    assert 'class="flash' not in page  # not the note after recording: the page's own reading
    assert digits(cell(page, "settlement-fund")) == st["fund"]
    assert digits(cell(page, "settlement-spend")) == st["spend_vnd"]
    assert digits(cell(page, "settlement-surplus")) == st["surplus"]
    assert digits(cell(page, "settlement-station-share")) == st["station_share"]
    assert cell(page, "settlement-share-rate").startswith("25,00")
    assert cell(page, "settlement-decision") == "số 7/QĐ-TTYT ngày 15/01/2025"
    assert digits(cell(page, "settlement-advanced")) == st["advanced"]
    assert digits(cell(page, "settlement-to-pay")) == st["to_pay"]
    assert 'id="settlement-deficit"' not in page and 'id="settlement-history"' not in page

    # Settled again with another share: the new one is in force, the first is listed as superseded.
    r = bhxh.post(
        "/capitation/settlement",
        {
            **base,
            "station_share_rate": "0,3",
            "station_share_decision_no": "8/QĐ-TTYT",
            "station_share_decision_date": "2025-01-20",
        },
    )
    assert r.status_code == 303, r.text[:800]
    year = api(stack, token, "/capitation/years/2024", facility=FACILITY)
    assert [h["id"] for h in year["settlement_history"]] == [st["id"]]
    assert year["settlement"]["supersedes_id"] == st["id"]
    assert year["settlement"]["station_share"] == whole(Decimal(surplus) * Decimal("0.3"))
    page = year_page(viewer)
    assert digits(cell(page, "settlement-station-share")) == year["settlement"]["station_share"]
    assert cell(page, "settlement-decision") == "số 8/QĐ-TTYT ngày 20/01/2025"
    assert f'id="settlement-history-{st["id"]}"' in page and "7/QĐ-TTYT" in page

    # The reconciliation page: the split by registration and the overdue Q4 advance with its due date.
    rec = api(stack, token, "/reconciliation", facility=FACILITY, period="2024-Q3")
    page = viewer.get(f"/reconciliation?facility={FACILITY}&period=2024-Q3").text
    cap = rec["capitation"]
    for ident, key in (
        ("rec-own-here", "spend_own_cards_here"),
        ("rec-own-elsewhere", "spend_own_cards_elsewhere"),
        ("rec-other-here", "spend_other_cards_here"),
    ):
        shown = cell(page, ident)
        assert Decimal(shown.replace(".", "").replace(",", ".").split()[0]) == Decimal(cap[key]), ident
    assert digits(cell(page, "rec-registered-claims")) == cap["registered_claims"]
    overdue = re.search(r'id="rec-overdue".*?</p>', page, re.S).group(0)
    assert "Tạm ứng quý IV/2024" in overdue and "15/10/2024" in overdue
    assert 'id="rec-step-advance" class="bad"' in page

    # The Excel: the steps with their dates, the overdue one red, and the split.
    r = requests.get(
        stack.url + "/api/v1/reconciliation/report.xlsx",
        params={"facility": FACILITY, "period": "2024-Q3"},
        headers=auth(token),
        timeout=60,
    )
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    labels = {row[1]: row for row in rows if isinstance(row[1], str)}
    assert labels["– thẻ đăng ký tại cơ sở, khám tại cơ sở"][2] == Decimal(cap["spend_own_cards_here"])
    assert labels["Số hồ sơ của thẻ đăng ký tại cơ sở"][2] == cap["registered_claims"]
    start = next(i for i, row in enumerate(rows) if row[0] == "Các bước quá hạn (đến ngày lập bảng)")
    late = [row for row in rows[start + 2 :] if isinstance(row[0], int)][:1]
    assert late and f"{FACILITY}: Tạm ứng quý IV/2024" in late[0][1]
    assert late[0][2].date().isoformat() == "2024-10-15" and late[0][4] == "Quá hạn"
    steps = {row[1]: row for row in rows if isinstance(row[1], str) and row[4] in ("Đúng hạn", "Trễ hạn", "Quá hạn")}
    assert any(row[3] is not None and row[3].date().isoformat() == "2024-10-08" for row in steps.values())
