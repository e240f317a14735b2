"""The pages as officers use them (issue 17's walk-through), over plain HTTP against the running system: each
finding of the walk-through is a test here that failed before its fix.

The stack is shared: this module's money goes to Huyện Vĩnh Thuận (910) in 2022, its claims to facility 91917
(a commune of 910); users have names of their own."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import lxml.html
import pytest
import requests

from services.common import clock
from services.common.periods import PeriodError, read_quarter
from services.devtools import claims_generator as generator
from tests.e2e.test_web_pages import PASSWORD, Browser, _upload_and_wait

DISTRICT, COMMUNE, YEAR, FACILITY = "910", "31060", 2022, "91917"
DATA = Path(__file__).parents[1] / "data" / "claims"  # the real hospital exports


@pytest.fixture(scope="module")
def officers(stack):
    made = {}
    for name, role, unit in (
        ("p17-ketoan-910", "finance", DISTRICT),
        ("p17-bhxh", "bhxh", None),
        ("p17-admin", "admin", None),
    ):
        args = ["user", "create", "--username", name, "--role", role] + (["--unit", unit] if unit else [])
        stack.ytcs(*args, stdin=PASSWORD + "\n")
        made[role] = name
    return made


def login(stack, officers, role: str) -> Browser:
    b = Browser(stack.url)
    b.login(officers[role])
    return b


def tree(text: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(text)


def test_the_period_reader_takes_the_forms_people_type():
    for text in ("Quý III/2024", "Q3/2024", "quý 3 năm 2024", "2024-Q3", "quy iii/2024", "Quý 3/2024", "2024 Q3"):
        assert str(read_quarter(text)) == "2024-Q3", text
    assert str(read_quarter("Quý IV/2025")) == "2025-Q4"
    for text in ("Quý V/2024", "Q5/2024", "2024", "2024-13", "", "III"):
        with pytest.raises(PeriodError):
            read_quarter(text)


def test_every_claim_code_has_a_vietnamese_name():
    from services.claims.validation.catalog import CATALOG
    from services.gateway.web.claim_codes import CODE_LABELS

    assert set(CATALOG) <= set(CODE_LABELS)


def test_a_district_officer_gets_the_district_plan_its_items_only_and_sees_plan_and_note(stack, officers):
    b = login(stack, officers, "finance")
    page = tree(b.get("/allocations/new").text)
    [chosen] = page.xpath('//select[@id="plan_id"]/option[@selected]')
    assert chosen.text.startswith("34/KH-UBND")
    pickers = {s.get("data-plan"): s for s in page.xpath('//select[@name="item_code"]')}
    assert set(pickers) == {"1", "2"}
    plan2, plan1 = pickers[chosen.get("value")], pickers["1"]
    assert plan2.get("disabled") is None and plan2.get("id") == "item_code"
    assert plan1.get("disabled") is not None and plan1.get("hidden") is not None  # not sent, not shown
    groups = [g.get("label") for g in plan2.xpath("optgroup")]
    assert [g.split(".")[0] for g in groups] == ["I", "II", "III", "IV"], groups
    assert all(o.get("value").split(".")[0] == g.get("label").split(".")[0] for g in plan2.xpath("optgroup")
               for o in g.xpath("option"))
    note = "Theo tờ trình 12/TTr-TTYT, ưu tiên trạm xa"
    r = b.post(
        "/allocations/new",
        {
            "form_key": page.xpath('//input[@name="form_key"]/@value')[0],
            "plan_id": chosen.get("value"),
            "item_code": "II.2.1",
            "source": "ntp_health_population",
            "fiscal_year": str(YEAR),
            "recipient_unit": COMMUNE,
            "amount": "25.000.000",
            "decision_no": "17/QĐ-UBND",
            "decision_date": f"{YEAR}-02-03",
            "note": note,
        },
    )
    assert r.status_code == 303, r.text
    shown = b.get(r.headers["Location"]).text
    doc = tree(shown)
    assert "34/KH-UBND" in doc.get_element_by_id("allocation-plan").text_content()
    assert note in doc.get_element_by_id("allocation-note").text_content()
    listing = b.get("/allocations", params={"year": YEAR}).text
    assert note[:40] in listing and "34/KH-UBND" in listing


def _claims_file(records: int, seed: int, tail: bytes = b"") -> bytes:
    buf = io.BytesIO()
    generator.generate(buf, facility=FACILITY, records=records, year=2024, months=[7], seed=seed)
    return buf.getvalue() + tail


def test_claim_files_say_their_outcome_honestly_and_the_records_page_reads_like_an_officer(stack, officers):
    admin = login(stack, officers, "admin")
    token = stack.token("admin")
    r = requests.post(
        stack.url + "/api/v1/facilities",
        headers={"Authorization": f"Bearer {token}"},
        json={"code": FACILITY, "name": "Trạm Y tế xã Vĩnh Bình", "unit": "31064"},  # in force today
        timeout=30,
    )
    assert r.status_code in (201, 409), r.text
    bhxh = login(stack, officers, "bhxh")
    first = _claims_file(2, 917)
    file_a, page_a = _upload_and_wait(bhxh, first)
    assert re.search(r'id="status-text" class="status done">Đã xử lý xong: 2/2 hồ sơ được chấp nhận<', page_a)
    # The same claims again in other bytes: every record is a duplicate, none accepted, and the page says so
    # in the warning colour, never "Đã xử lý xong" in green.
    file_b, page_b = _upload_and_wait(bhxh, first + b"\n\n")
    status = tree(page_b).get_element_by_id("status-text")
    assert status.get("class") == "status partial" and "0/2 hồ sơ được chấp nhận" in status.text_content()
    assert "Đã xử lý xong" not in status.text_content()
    rows = tree(page_b).xpath('//table[@id="errors"]/tbody/tr')
    assert [r.xpath("td")[0].text_content() for r in rows] == ["1", "2"]  # STT counts from 1
    cells = rows[0].xpath("td")
    assert cells[4].text_content().startswith("Hồ sơ đã được tiếp nhận trước đó")  # the Vietnamese name first
    assert cells[6].text_content() == "duplicate_claim"  # the code second
    chips = tree(page_b).xpath('//p[@class="codes"]/a')
    assert chips and chips[0].text_content().startswith("Hồ sơ đã được tiếp nhận") and chips[0].get("title")
    # The file list names the files as they were uploaded (the test's upload calls them hoso.xml).
    listing = tree(bhxh.get("/claims").text)
    names = {a.text_content(): r for r in listing.xpath('//table[@id="files"]/tbody/tr') for a in r.xpath("td[1]/a")}
    for file_id in (file_a, file_b):
        assert names[f"Số {file_id}"].xpath('td[@class="text filename"]')[0].text_content() == "hoso.xml"
    assert "0/2 được chấp nhận" in lxml.html.tostring(names[f"Số {file_b}"], encoding=str)
    assert tree(bhxh.get(f"/claims/files/{file_a}").text).get_element_by_id("file-name").text_content() == "hoso.xml"
    # "Nhận lúc" is the moment of the upload on Việt Nam's clock, not the server's UTC (7 hours behind).
    shown = names[f"Số {file_a}"].xpath("td")[3].text_content().strip()
    uploaded = datetime.strptime(shown, "%d/%m/%Y %H:%M").replace(tzinfo=clock.VIETNAM)
    assert abs(datetime.now(clock.VIETNAM) - uploaded) < timedelta(minutes=10), shown

    # The period box takes the app's own display form, and one row stands for a MA_LK sent in two files.
    for typed in ("Quý III/2024", "Q3/2024", "quý 3 năm 2024"):
        r = bhxh.get("/claims/records", params={"facility": FACILITY, "period": typed})
        assert r.status_code == 200, (typed, r.text[:400])
        doc = tree(r.text)
        ma_lk = [c.text_content() for c in doc.xpath('//table[@id="claims"]/tbody/tr/td[1]/code')]
        assert len(ma_lk) == 2 and len(set(ma_lk)) == 2, ma_lk
        assert doc.get_element_by_id("period").get("value") == "Quý III/2024"
    assert "(2 lần gửi)" in r.text
    assert bhxh.get("/claims/records", params={"facility": FACILITY, "period": "Quý V/2024"}).status_code == 422

    # One item refused: every amount and reason typed is still there.
    doc = tree(r.text)
    inputs = doc.xpath('//input[starts-with(@name, "approved__")]')
    assert len(inputs) == 2
    good, bad = inputs[0].get("name"), inputs[1].get("name")
    reason = doc.xpath('//select[starts-with(@name, "reason__")]/option[@value!=""]/@value')[0]
    r = bhxh.post(
        "/claims/assessments",
        {
            "form_key": doc.xpath('//input[@name="form_key"]/@value')[0],
            "facility_code": FACILITY,
            "period": "2024-Q3",
            good: inputs[0].get("placeholder"),
            "reason__" + good.removeprefix("approved__"): reason,
            bad: "1",  # less than asked and no reason: refused
        },
    )
    assert r.status_code == 422, r.text[:400]
    kept = tree(r.text)
    assert kept.xpath(f'//input[@name="{good}"]/@value') == [inputs[0].get("placeholder")]
    assert kept.xpath(f'//input[@name="{bad}"]/@value') == ["1"]
    assert kept.xpath(f'//select[@name="reason__{good.removeprefix("approved__")}"]/option[@selected]/@value') == [
        reason
    ]
    del admin


def test_on_a_phone_every_table_scrolls_inside_its_card(stack, officers):
    css = requests.get(stack.url + "/static/app.css", timeout=30).text
    phone = css.split("@media (max-width: 720px)", 1)[1].split("@media", 1)[0]
    assert ".scroll > table { min-width" in phone and ".scroll { overflow-x: auto" in css
    b = login(stack, officers, "admin")
    for path in ("/", "/allocations", "/investment", "/claims", f"/reconciliation?facility={FACILITY}&period=2024-Q3",
                 f"/stations/{COMMUNE}"):
        r = b.get(path)
        assert r.status_code == 200, (path, r.status_code)
        tables = tree(r.text).xpath("//table")
        assert tables or path == "/investment", path  # projects appear in test_pages_investment
        for t in tables:
            assert "scroll" in (t.getparent().get("class") or "").split(), (path, t.get("id"))


def test_an_admin_maps_the_facilities_seen_in_claim_files_on_a_page(stack, officers):
    seen = "91918"  # named by a file before anyone registered it
    bhxh = login(stack, officers, "bhxh")
    buf = io.BytesIO()
    generator.generate(buf, facility=seen, records=1, year=2024, months=[8], seed=918)
    _upload_and_wait(bhxh, buf.getvalue())
    # Before anyone maps it, a BHXH officer bound to no unit finds it on the records page and sees its claim.
    records = tree(bhxh.get("/claims/records", params={"facility": seen, "period": "Quý III/2024"}).text)
    assert "chưa gắn đơn vị" in records.xpath(f'//select[@id="facility"]/option[@value="{seen}"]')[0].text_content()
    assert len(records.xpath('//table[@id="claims"]/tbody/tr/td[1]/code')) == 1
    admin = login(stack, officers, "admin")
    page = tree(admin.get("/facilities").text)
    unmapped = [c.text_content() for c in page.xpath('//table[@id="unmapped-facilities"]/tbody/tr/td[1]/code')]
    assert seen in unmapped and FACILITY not in unmapped  # FACILITY is registered by the claims test or here
    assert bhxh.get("/facilities").status_code == 403  # mapping is the admins'
    # The link of an unmapped facility fills the form with its code; a wrong unit is refused next to the form.
    filled = tree(admin.get("/facilities", params={"code": seen}).text)
    assert filled.get_element_by_id("code").get("value") == seen
    key = filled.xpath('//input[@name="form_key"]/@value')[0]
    r = admin.post("/facilities", {"form_key": key, "code": seen, "name": "Trạm Y tế xã Vĩnh Bình", "unit": "31060",
                                   "kind": "station"})
    assert r.status_code == 422 and "31064" in r.text  # an ended commune: its successor is named
    assert tree(r.text).get_element_by_id("name").get("value") == "Trạm Y tế xã Vĩnh Bình"  # typed value kept
    key = tree(r.text).xpath('//input[@name="form_key"]/@value')[0]
    r = admin.post("/facilities", {"form_key": key, "code": seen, "name": "Trạm Y tế xã Vĩnh Bình", "unit": "31064",
                                   "kind": "station"})
    assert r.status_code == 303, r.text[:400]
    after = tree(admin.get("/facilities").text)
    assert seen not in [c.text_content() for c in after.xpath('//table[@id="unmapped-facilities"]//code')]
    assert seen in [c.text_content() for c in after.xpath('//table[@id="registered-facilities"]//code')]
    api = requests.get(stack.url + f"/api/v1/facilities/{seen}",
                       headers={"Authorization": f"Bearer {stack.token('admin')}"}, timeout=30)
    assert api.status_code == 200 and api.json()["unit"] == "31064"


def test_a_bhxh_officer_finds_a_visit_by_either_of_its_cards_and_assesses_it_there(stack, officers):
    """The real inpatient stay (tests/data/claims) was made under two cards, "GD4…;AK2…": looked up on the
    Giám định page by the second card or by its MA_LK, in every quarter of the facility, then assessed from the
    search, which the page comes back to."""
    bhxh = login(stack, officers, "bhxh")
    _upload_and_wait(bhxh, (DATA / "real_20003_inpatient_base64.xml").read_bytes())
    for search in ({"card": "ak2200000000000 "}, {"ma_lk": "1073660"}):
        r = bhxh.get("/claims/records", params={"facility": "20003", **search})
        assert r.status_code == 200, r.text[:400]
        doc = tree(r.text)
        assert [c.text_content() for c in doc.xpath('//table[@id="claims"]/tbody/tr/td[1]/code')] == ["1073660"]
        assert doc.get_element_by_id("period").get("value") == ""  # every quarter: none was picked for the search
    assert doc.xpath('//form[@id="records-filter"]//input[@name="ma_lk"]/@value') == ["1073660"]
    none = tree(bhxh.get("/claims/records", params={"facility": "20003", "card": "AK2200000000001"}).text)
    assert "Không có hồ sơ nào khớp." in none.xpath('//table[@id="claims"]/tbody')[0].text_content()

    [amount] = doc.xpath('//input[@name="approved__1073660"]/@placeholder')
    form = {k: doc.xpath(f'//form[@id="assessment-form"]//input[@name="{k}"]/@value')[0]
            for k in ("form_key", "facility_code", "period", "ma_lk")}
    r = bhxh.post("/claims/assessments", {**form, "approved__1073660": amount})
    assert r.status_code == 303, r.text[:400]
    assert r.headers["Location"].endswith("/claims/records?facility=20003&ma_lk=1073660")
    back = tree(bhxh.get(r.headers["Location"]).text)
    [row] = back.xpath('//table[@id="claims"]/tbody/tr')
    assert "chờ" not in row.xpath("td")[6].text_content()  # assessed

    # The card looked for at every facility the officer sees: read only, each row linking to its facility's page.
    doc = tree(bhxh.get("/claims/records", params={"facility": "", "card": "AK2200000000000"}).text)
    [row] = doc.xpath('//table[@id="claims"]/tbody/tr')
    [link] = row.xpath("td[1]/a")
    assert link.text_content() == "20003" and link.get("href").endswith("facility=20003&ma_lk=1073660")
    assert row.xpath("td[2]/code")[0].text_content() == "1073660"
    assert not doc.xpath('//input[starts-with(@name, "approved__")]') and not doc.xpath('//*[@id="save-assessment"]')
    assert doc.xpath('//select[@name="facility"]/option[@selected]/@value') == [""]
    # Without a search, no facility is no list; the choice is offered, last, and a facility is chosen first.
    landing = tree(bhxh.get("/claims/records").text)
    options = landing.xpath('//select[@name="facility"]/option')
    assert options[-1].get("value") == "" and "mọi cơ sở" in options[-1].text_content()
    assert not landing.xpath('//select[@name="facility"]/option[@selected and @value=""]')
    assert not tree(bhxh.get("/claims/records", params={"facility": ""}).text).xpath('//table[@id="claims"]')
