"""Indicator facts entered on the district's page and the plan page's targets beside the money (issue 17),
over plain HTTP against the running system.

The stack is shared: this module records facts for 2020 only (test_indicators.py measures 2024 and 2025,
test_gateway_funding 2023, test_yearly_report 2021), at station 31060 of Huyện Vĩnh Thuận (910)."""

from __future__ import annotations

import io

import lxml.html
import pytest
import requests
from openpyxl import load_workbook

from tests.e2e.test_web_pages import PASSWORD, Browser

DISTRICT, STATION, OTHER_STATION, YEAR = "910", "31060", "31063", 2020
SOURCE = "Báo cáo 07/BC-TYT ngày 15/01/2021"


@pytest.fixture(scope="module")
def people(stack):
    made = {}
    for name, role, unit in (("p17i-tyt-910", "finance", DISTRICT), ("p17i-xem", "viewer", None)):
        args = ["user", "create", "--username", name, "--role", role] + (["--unit", unit] if unit else [])
        stack.ytcs(*args, stdin=PASSWORD + "\n")
        made[role] = name
    return made


def login(stack, people, role: str) -> Browser:
    b = Browser(stack.url)
    b.login(people[role])
    return b


def tree(text: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(text)


def row_form(page: lxml.html.HtmlElement, code: str) -> dict[str, str]:
    """What the row's form would send: its inputs (linked with form="form-CODE") and hidden fields."""
    out = {i.get("name"): i.get("value") or "" for i in page.xpath(f'//form[@id="form-{code}"]//input')}
    for i in page.xpath(f'//input[@form="form-{code}"]'):
        out[i.get("name")] = i.get("value") or ""
    for s in page.xpath(f'//select[@form="form-{code}"]'):
        chosen = s.xpath("option[@selected]")
        out[s.get("name")] = chosen[0].get("value") if chosen else ""
    return out


def api_facts(b: Browser, code: str) -> dict:
    r = b.http.get(f"{b.url}/api/v1/stations/{code}/indicators/{YEAR}", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_station_officer_enters_facts_on_the_page_and_the_api_answers_them(stack, people):
    b = login(stack, people, "finance")
    r = b.get(f"/indicators?unit={DISTRICT}&year={YEAR}")
    assert r.status_code == 200, r.text
    page = tree(r.text)
    codes = [tr.get("data-code") for tr in page.xpath('//table[@id="indicators"]/tbody/tr')]
    assert STATION in codes and DISTRICT in codes  # the district's stations, then its health centre
    assert page.xpath('//a[@id="download-template"]/@href') == [
        f"/api/v1/indicators/template.xlsx?unit={DISTRICT}&year={YEAR}"
    ]
    assert page.xpath('//form[@id="upload-form"]')
    form = row_form(page, STATION)
    form.update(
        population="12.500",  # as offices write it: twelve thousand five hundred
        population_managed="10000",
        doctors="2",
        doctor_days_per_week="5",
        doctors_family_medicine="1",
        services_performed="90",
        services_in_list="120",
        national_criteria_met="có",
        bhyt_eligible="có",
        source=SOURCE,
    )
    r = b.post(f"/indicators/{STATION}/{YEAR}?unit={DISTRICT}", form)
    assert r.status_code == 303, r.text
    assert r.headers["Location"].endswith(f"#row-{STATION}")
    facts = api_facts(b, STATION)
    current = facts["current"]
    assert current["population"] == 12500 and current["population_managed"] == 10000
    assert current["doctor_days_per_week"] == 5 and current["national_criteria_met"] is True
    assert current["source"] == SOURCE
    # The page shows them back, and the same row sent again makes no new version.
    page = tree(b.get(f"/indicators?unit={DISTRICT}&year={YEAR}").text)
    again = row_form(page, STATION)
    assert again["population"] == "12500" and again["bhyt_eligible"] == "có"
    assert b.post(f"/indicators/{STATION}/{YEAR}?unit={DISTRICT}", again).status_code == 303
    assert api_facts(b, STATION)["current"]["version"] == current["version"]


def test_a_refused_value_is_named_beside_its_row_and_keeps_what_was_typed(stack, people):
    b = login(stack, people, "finance")
    page = tree(b.get(f"/indicators?unit={DISTRICT}&year={YEAR}").text)
    form = row_form(page, OTHER_STATION)
    form.update(population="8.400", doctors="1", doctor_days_per_week="9", source="Điều tra 2020")
    r = b.post(f"/indicators/{OTHER_STATION}/{YEAR}?unit={DISTRICT}", form)
    assert r.status_code == 422, r.text
    page = tree(r.text)
    row = page.xpath(f'//tr[@id="row-{OTHER_STATION}"]')[0]
    assert "refused" in row.get("class")
    [message] = row.xpath('.//select[@name="doctor_days_per_week"]/../span[@class="field-error"] | '
                          './/input[@name="doctor_days_per_week"]/../span[@class="field-error"]')
    assert "0 đến 7" in message.text_content()
    typed = row_form(page, OTHER_STATION)
    assert typed["population"] == "8.400" and typed["doctor_days_per_week"] == "9"
    assert typed["source"] == "Điều tra 2020"
    assert api_facts(b, OTHER_STATION).get("current") is None  # nothing written
    # Without a source: refused in Vietnamese too.
    form.update(doctor_days_per_week="5", source="")
    r = b.post(f"/indicators/{OTHER_STATION}/{YEAR}?unit={DISTRICT}", form)
    assert r.status_code == 422
    assert "nguồn" in tree(r.text).xpath(f'//tr[@id="row-{OTHER_STATION}"]')[0].text_content().lower()


def test_others_read_and_a_station_outside_the_unit_is_refused(stack, people):
    viewer = login(stack, people, "viewer")
    r = viewer.get(f"/indicators?unit={DISTRICT}&year={YEAR}")
    assert r.status_code == 200
    page = tree(r.text)
    assert not page.xpath("//form[@method='post' and starts-with(@id, 'form-')]") and not page.xpath("//input[@form]")
    assert viewer.post(f"/indicators/{STATION}/{YEAR}", {"source": "x"}).status_code == 403
    b = login(stack, people, "finance")
    b.get(f"/indicators?unit={DISTRICT}&year={YEAR}")
    assert b.get(f"/indicators?unit=899&year={YEAR}").status_code == 403
    r = b.post(f"/indicators/30730/{YEAR}", {"population": "100", "source": "x"})  # a commune of another district
    assert r.status_code == 403


def test_the_plan_page_shows_a_target_with_its_actual_beside_the_money(stack, people):
    b = login(stack, people, "finance")
    r = b.http.get(
        f"{b.url}/api/v1/plans/2/targets",
        params={"year": YEAR, "unit": DISTRICT},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    answer = {(t["item_code"], t["key"]): t for t in r.json()["items"]}
    managed = answer[next(k for k in answer if k[1] == "population_health_managed")]
    assert managed["actual"] == "80.00"  # 10.000 of 12.500 at the one station that reported
    page = tree(b.get(f"/?plan=2&year={YEAR}&unit={DISTRICT}").text)
    [cell] = page.xpath(f'//tr[@data-code="{managed["item_code"]}"]//div[@data-key="population_health_managed"]')
    text = " ".join(cell.text_content().split())
    assert "80,00" in text
    assert ("Đạt" if managed["met"] else "Chưa đạt") in text
    # A target nobody reported for says so.
    empty = next(t for t in answer.values() if t["actual"] is None)
    [cell] = page.xpath(f'//tr[@data-code="{empty["item_code"]}"]//div[@data-key="{empty["key"]}"]')
    assert "Chưa có số liệu" in cell.text_content()
    # A target the plan states without a figure (plan 1's investment in the hardest communes): a dash, never a
    # comparison sign standing alone.
    r = b.http.get(f"{b.url}/api/v1/plans/1/targets", params={"year": YEAR}, headers={"Accept": "application/json"})
    bare = next(t for t in r.json()["items"] if t["target"] is None and t["comparison"])
    page = tree(b.get(f"/?plan=1&year={YEAR}").text)
    [goal] = page.xpath(f'//tr[@data-code="{bare["item_code"]}"]//div[@data-key="{bare["key"]}"]//span[@class="goal"]')
    assert goal.text_content().split()[0] == "–", goal.text_content()


def test_the_filled_template_uploaded_on_the_page_names_a_bad_cell_then_records(stack, people):
    b = login(stack, people, "finance")
    b.get(f"/indicators?unit={DISTRICT}&year={YEAR}")
    r = b.http.get(f"{b.url}/api/v1/indicators/template.xlsx", params={"unit": DISTRICT, "year": YEAR})
    assert r.status_code == 200, r.text
    book = load_workbook(io.BytesIO(r.content))
    ws = book.active
    keys = [c.value for c in ws[4]]
    [row] = [c.row for c in ws["A"] if c.value == OTHER_STATION]
    ws.cell(row=row, column=keys.index("doctors") + 1, value=1)
    ws.cell(row=row, column=keys.index("doctor_days_per_week") + 1, value=9)
    ws.cell(row=row, column=keys.index("source") + 1, value="Điều tra 2020")

    def upload() -> requests.Response:
        buf = io.BytesIO()
        book.save(buf)
        files = {"file": ("chi-so.xlsx", buf.getvalue())}
        return b.post("/indicators/import", {"unit": DISTRICT, "year": str(YEAR)}, files=files)

    r = upload()
    assert r.status_code == 422, r.text
    box = " ".join(tree(r.text).xpath('//div[@class="errors"]')[0].text_content().split())
    assert f"Dòng {row}" in box and "0 đến 7" in box
    assert api_facts(b, OTHER_STATION)["current"] is None  # nothing written
    ws.cell(row=row, column=keys.index("doctor_days_per_week") + 1, value=2)
    r = upload()
    assert r.status_code == 303, r.text
    current = api_facts(b, OTHER_STATION)["current"]
    assert (current["doctors"], current["doctor_days_per_week"], current["source"]) == (1, 2, "Điều tra 2020")
    assert api_facts(b, STATION)["current"]["version"] == 1  # its unchanged row made no new version


def test_a_merged_communes_officer_sees_and_corrects_the_communes_now_part_of_it(stack, people):
    """Xã Vĩnh Bình (31064) took in 31060 and 31063 on 01/7/2025 (docs/domain.md §7): its officer's 2020 page
    lists the three stations as they were, says so, and writes the merged ones' rows; not another commune's."""
    stack.ytcs("user", "create", "--username", "p17i-tyt-31064", "--role", "finance", "--unit", "31064",
               stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login("p17i-tyt-31064")
    r = b.get(f"/indicators?year={YEAR}")  # the person's own unit
    assert r.status_code == 200, r.text
    page = tree(r.text)
    rows = page.xpath('//table[@id="indicators"]/tbody/tr')
    assert [tr.get("data-code") for tr in rows] == [STATION, OTHER_STATION, "31064"]
    assert [" ".join(tr.xpath("td")[1].text_content().split()) for tr in rows][0].endswith("→ 31064")
    note = " ".join(page.xpath('//p[@id="merged-stations"]')[0].text_content().split())
    assert "Xã Vĩnh Bình (31064) gồm cả 31060, 31063" in note and "01/07/2025" in note
    form = row_form(page, OTHER_STATION)
    assert form["doctors"] == "1"  # what the district's upload recorded above
    form.update(population="7.100")
    r = b.post(f"/indicators/{OTHER_STATION}/{YEAR}", form)
    assert r.status_code == 303, r.text
    current = api_facts(b, OTHER_STATION)["current"]
    assert (current["population"], current["recorded_by"]) == (7100, "user:p17i-tyt-31064")
    # Vĩnh Phong's (31051) own commune is not theirs, nor is 31074, merged into Vĩnh Phong.
    for code in ("31051", "31074"):
        assert b.post(f"/indicators/{code}/{YEAR}", {"population": "100", "source": "x"}).status_code == 403
    r = b.http.get(f"{b.url}/api/v1/indicators/template.xlsx", params={"year": YEAR})
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["A1"].value == f"CHỈ SỐ Y TẾ CƠ SỞ NĂM {YEAR} — Xã Vĩnh Bình (31064, gồm 31060, 31063 đã sáp nhập vào)"
    assert [c.value for c in ws["A"][4:]] == [STATION, OTHER_STATION, "31064"]
    # The home page's trail names the former district above the commune, a link only for whom may open it.
    crumbs = tree(b.get("/?plan=2").text).xpath('//nav[@class="crumbs"]')[0]
    assert "Huyện Vĩnh Thuận" in crumbs.text_content() and not crumbs.xpath('.//a[contains(@href, "unit=910")]')
    district = login(stack, people, "finance")
    crumbs = tree(district.get("/?plan=2&unit=31064").text).xpath('//nav[@class="crumbs"]')[0]
    [link] = crumbs.xpath('.//a[contains(@href, "unit=910")]')
    assert link.text_content() == "Huyện Vĩnh Thuận"
    # The station page says what merged into it and what its code named before, and its criteria in words.
    admin = {"Authorization": f"Bearer {stack.token('admin')}"}
    status = {"attribute": "building_condition", "value": "poor", "year": YEAR, "decision_no": "7/QĐ-UBND"}
    r = requests.post(f"{stack.url}/api/v1/stations/{OTHER_STATION}/status", json=status, headers=admin, timeout=30)
    assert r.status_code == 201, r.text
    station = tree(b.get("/stations/31064").text)
    mergers = " ".join(station.get_element_by_id("mergers").text_content().split())
    assert "31060 Xã Vĩnh Bình Bắc, 31063 Xã Vĩnh Bình Nam" in mergers
    rows = station.xpath('//*[@id="mergers"]//tbody/tr')
    versions = [[td.text_content() for td in tr.xpath("td")][:4] for tr in rows]
    assert versions == [["31064", "Trạm Y tế Xã Bình Minh", "01/12/2019", "30/06/2025"],
                        ["31064", "Trạm Y tế Xã Vĩnh Bình", "01/07/2025", "nay"]]  # fmt: skip
    merged = tree(b.get(f"/stations/{OTHER_STATION}").text)
    head = " ".join(merged.xpath("//section[@class='head']")[0].text_content().split())
    assert "nay thuộc 31064 Xã Vĩnh Bình" in head and "Cơ sở vật chất: xuống cấp" in head
    criteria = " ".join(merged.get_element_by_id("criteria-history").text_content().split())
    assert f"{YEAR}: Tình trạng cơ sở vật chất trạm y tế: xuống cấp (quyết định 7/QĐ-UBND)" in criteria
    # A year after the merger: the one commune.
    later = tree(b.get("/indicators?year=2025").text)
    assert [tr.get("data-code") for tr in later.xpath('//table[@id="indicators"]/tbody/tr')] == ["31064"]
    assert not later.xpath('//p[@id="merged-stations"]')
