"""A finance officer's and a BHXH officer's day in a real browser (headless Chromium) against the running
system: log in through the form, enter an allocation and a disbursement, see them in the roll-up and drill
down province → district → station, download the Excel report and open it (openpyxl) with the figures
computed here; import allocations, payments and station projects' payments from the Excel templates; upload a
generated claim file, watch its progress and see its errors, look at claims and the reconciliation. Screenshots
of the main pages are kept in docs/screenshots/.

The stack is shared: this module's money goes to Huyện Giang Thành (914) in 2021 (2018 for the import) and its claims
to 91914."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
import requests
from docx import Document
from openpyxl import load_workbook
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.devtools import claims_generator as generator
from tests.browser.conftest import screenshot

PASSWORD = "mật-khẩu-trình-duyệt-914"
DISTRICT, COMMUNE, YEAR, FACILITY = "914", "30791", 2021, "91914"
ALLOCATED, DISBURSED = 850_000_000, 340_000_000


@pytest.fixture(scope="module")
def people(stack):
    for name, role in (("tr-ketoan", "finance"), ("tr-bhxh", "bhxh"), ("tr-soyte", "finance")):
        stack.ytcs("user", "create", "--username", name, "--role", role, stdin=PASSWORD + "\n")
    return {"finance": "tr-ketoan", "bhxh": "tr-bhxh", "province": "tr-soyte"}


def wait(driver, condition, timeout=30):
    def settled(d):
        try:
            return condition(d)
        except WebDriverException as exc:
            # A form's answer replaced the page between finding an element and reading it: Chromium 156 says so
            # with this inspector error rather than as a stale element (which the conditions already wait out).
            if "does not belong to the document" in (exc.msg or ""):
                return False
            raise

    return WebDriverWait(driver, timeout).until(settled)


def login(driver, stack, username):
    driver.delete_all_cookies()
    driver.get(stack.url + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "nav.menu")))


def text_of(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def recorded(stack, token: str, path: str, body: dict) -> dict:
    """A command through the API, answered 201."""
    r = requests.post(stack.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_finance_officer_enters_money_sees_it_rolled_up_and_downloads_the_report(chrome, stack, people, downloads):
    driver = chrome
    driver.get(stack.url + "/")
    assert "/login" in driver.current_url  # not logged in: the login page
    screenshot(driver, "login")
    login(driver, stack, people["finance"])
    assert driver.title.startswith("Tổng hợp kinh phí")

    # Enter an allocation through the form.
    driver.get(stack.url + "/allocations/new")
    # The district plan's section III names no 20% surplus: choosing that plan takes the source off the list,
    # and choosing the province plan again puts it back (the server refuses it either way: source_not_in_plan).
    Select(driver.find_element(By.ID, "plan_id")).select_by_value("2")
    surplus = driver.find_element(By.CSS_SELECTOR, '#source option[value="bhyt_surplus_20"]')
    assert not surplus.is_enabled()
    Select(driver.find_element(By.ID, "plan_id")).select_by_value("1")
    assert surplus.is_enabled()
    Select(driver.find_element(By.ID, "item_code")).select_by_value("II.2.6")
    Select(driver.find_element(By.ID, "source")).select_by_value("provincial_budget")
    driver.find_element(By.ID, "fiscal_year").send_keys(str(YEAR))
    Select(driver.find_element(By.ID, "recipient_unit")).select_by_value(DISTRICT)
    driver.find_element(By.ID, "amount").send_keys(str(ALLOCATED))
    driver.find_element(By.ID, "decision_no").send_keys("914/QĐ-UBND")
    driver.execute_script("document.getElementById('decision_date').value = arguments[0]", f"{YEAR}-03-15")
    screenshot(driver, "allocation-form")
    driver.find_element(By.ID, "save-allocation").click()
    wait(driver, ec.presence_of_element_located((By.ID, "disbursement-form")))
    assert "Đã ghi phân bổ số" in text_of(driver, ".flash")
    assert text_of(driver, "#allocated") == "850.000.000 đ"

    # A disbursement on it, typed the Vietnamese way.
    form = driver.find_element(By.ID, "disbursement-form")
    form.find_element(By.NAME, "amount").send_keys("340.000.000")
    driver.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, "date"), f"{YEAR}-06-30")
    form.find_element(By.NAME, "reference").send_keys("UNC 914")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, ec.text_to_be_present_in_element((By.ID, "disbursed"), "340.000.000 đ"))
    assert text_of(driver, "#remaining") == "510.000.000 đ"
    screenshot(driver, "allocation")

    # The roll-up: province level, then drill down into the district, then to a commune station.
    driver.get(stack.url + f"/?plan=1&year={YEAR}")
    link = driver.find_element(By.XPATH, "//table[@id='by-unit']//a[contains(., 'Giang Thành')]")
    row = link.find_element(By.XPATH, "./ancestor::tr")
    assert "850.000.000 đ" in row.text and "340.000.000 đ" in row.text and "40,0 %" in row.text
    screenshot(driver, "home")
    link.click()
    wait(driver, ec.url_contains(f"unit={DISTRICT}"))
    item = driver.find_element(By.CSS_SELECTOR, "tr[data-code='II.2.6']")
    assert item.find_element(By.CSS_SELECTOR, ".allocated").text == "850.000.000 đ"
    assert item.find_element(By.CSS_SELECTOR, ".disbursed").text == "340.000.000 đ"
    assert item.find_element(By.CSS_SELECTOR, ".rate").text.startswith("40,0 %")
    assert "Huyện Giang Thành" in text_of(driver, "nav.crumbs")
    screenshot(driver, "home-district")
    screenshot(driver, "home-phone", width=390)  # the same page on a phone

    # The Excel report from the page's button, opened with openpyxl.
    for old in downloads.glob("*"):
        old.unlink()
    driver.find_element(By.ID, "download-report").click()
    path = _downloaded(downloads)
    ws = load_workbook(path).active
    heading = [c.value for c in next(r for r in ws.iter_rows() if r[0].value == "Mã mục")]
    total_col = heading.index("Tổng cộng các nguồn")
    rows = {r[0]: r for r in ws.iter_rows(values_only=True) if r[0] in ("II", "II.2", "II.2.6")}
    for code in ("II", "II.2", "II.2.6"):  # only this test's money is in Giang Thành in 2021
        assert rows[code][total_col : total_col + 2] == (ALLOCATED, DISBURSED), code
    assert rows["II.2.6"][2:4] == (ALLOCATED, DISBURSED)  # the only source: Ngân sách tỉnh
    assert heading[2] == "Ngân sách tỉnh"

    # Investment and priorities pages render for the officer.
    driver.get(stack.url + "/investment/priorities?unit=" + DISTRICT)
    assert driver.find_elements(By.CSS_SELECTOR, "#priorities tbody tr")
    # Next year's list has no districts any more: the column says which former one.
    assert text_of(driver, "#priorities thead th:nth-child(3)") == "Huyện (trước 01/07/2025)"
    screenshot(driver, "priorities")
    driver.get(stack.url + f"/stations/{COMMUNE}")
    assert "Lịch sử phân bổ" in driver.page_source


def test_a_province_officer_downloads_the_yearly_word_report(chrome, stack, people, downloads):
    """Sở Y tế's officer (finance, no unit) opens who has reported under 158/KH-UBND and downloads the Word report:
    the national title and motto, the plan and year, and item II.2.6's money as the API answers it."""
    driver = chrome
    # The item's money in the document is what the API answers for the province and the year (this test's own
    # allocation included, whatever else the stack holds).
    headers = {"Authorization": f"Bearer {stack.token('finance')}"}
    r = requests.post(
        stack.url + "/api/v1/allocations",
        json={
            "plan_id": 1,
            "item_code": "II.2.6",
            "source": "provincial_budget",
            "fiscal_year": YEAR,
            "recipient_unit": DISTRICT,
            "amount": 123_000_000,
            "decision_no": "77/QĐ-SYT",
            "decision_date": f"{YEAR}-03-01",
        },
        headers=headers,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    api = requests.get(
        stack.url + "/api/v1/plans/1/items/II.2.6/funding", params={"year": YEAR}, headers=headers, timeout=30
    ).json()
    assert api["allocated"] >= 123_000_000
    login(driver, stack, people["province"])
    driver.get(stack.url + f"/reports?plan=1&year={YEAR}")
    assert "Báo cáo" in driver.page_source
    for old in downloads.glob("*"):
        old.unlink()
    driver.find_element(By.ID, "download-docx").click()
    doc = Document(str(_downloaded(downloads, suffix=".docx")))
    cells = [[c.text for c in row.cells] for table in doc.tables for row in table.rows]
    # The heading (issuer beside the national title and motto) is a borderless table, as NĐ 30/2020 lays it out.
    text = "\n".join([p.text for p in doc.paragraphs] + [t for row in cells for t in row])
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert f"Kế hoạch số 158/KH-UBND năm {YEAR}" in text
    shown = f"{api['allocated']:,}".replace(",", ".")
    assert any("II.2.6" in row and shown in row for row in cells), cells[:20]


def test_a_finance_officer_reverses_part_of_a_carry_over_on_the_allocation_page(chrome, stack, people):
    """A 2021 allocation partly carried over to 2022 by the API; the officer opens its page, unfolds the record's
    reversal form, reverses 15 000 000 by a decision, and sees the reversal in the history."""
    driver = chrome
    token = stack.token("finance")
    alloc = recorded(stack, token, "/api/v1/allocations", {
        "plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": YEAR,
        "recipient_unit": DISTRICT, "amount": 90_000_000, "decision_no": "81/QĐ-UBND", "decision_date": f"{YEAR}-03-01",
    })  # fmt: skip
    carried = recorded(stack, token, f"/api/v1/allocations/{alloc['id']}/carry-over", {
        "amount": 40_000_000, "date": f"{YEAR + 1}-01-10", "decision_no": "5/QĐ-STC",
        "decision_date": f"{YEAR + 1}-01-10",
    })  # fmt: skip
    login(driver, stack, people["finance"])
    driver.get(stack.url + f"/allocations/{alloc['id']}")
    section = driver.find_element(By.ID, "year-end-reversals")
    section.find_element(By.TAG_NAME, "summary").click()
    form = driver.find_element(By.ID, f"reverse-{carried['id']}-form")
    assert form.is_displayed()
    form.find_element(By.NAME, "amount").send_keys("15.000.000")
    date_field = form.find_element(By.NAME, "date")
    driver.execute_script("arguments[0].value = arguments[1]", date_field, f"{YEAR + 1}-01-20")
    form.find_element(By.NAME, "decision_no").send_keys("9/QĐ-STC")
    driver.execute_script(
        "arguments[0].value = arguments[1]", form.find_element(By.NAME, "decision_date"), f"{YEAR + 1}-01-20"
    )
    screenshot(driver, "allocation-year-end")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "body"), "Đã ghi hủy bản ghi cuối năm"))
    history = driver.find_element(By.CSS_SELECTOR, "tr.year-end:last-child").text
    assert "Hủy Chuyển nguồn" in history and "9/QĐ-STC" in history and "15.000.000" in history


def test_a_merged_wards_officer_is_told_of_the_year_end_and_closes_it(chrome, stack):
    """After the 2025 merger: a 2023 allocation to Phường Pháo Đài (30772), now part of Phường Hà Tiên (30769), still
    holds 25 000 000. Hà Tiên's finance officer sees the notice on the home page, follows it to the list, opens the
    allocation, closes the money, and the notice is gone. No other module uses Hà Tiên or its wards."""
    driver = chrome
    token = stack.token("finance")
    alloc = recorded(stack, token, "/api/v1/allocations", {
        "plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2023,
        "recipient_unit": "30772", "amount": 30_000_000, "decision_no": "12/QĐ-UBND", "decision_date": "2023-03-01",
    })  # fmt: skip
    paid = {"amount": 5_000_000, "date": "2023-06-01"}
    recorded(stack, token, f"/api/v1/allocations/{alloc['id']}/disbursements", paid)
    stack.ytcs("user", "create", "--username", "tr-hatien", "--role", "finance", "--unit", "30769",
               stdin=PASSWORD + "\n")  # fmt: skip
    login(driver, stack, "tr-hatien")
    notice = driver.find_element(By.ID, "year-end-due")
    assert "1 khoản phân bổ" in notice.text and "25.000.000" in notice.text, notice.text
    notice.find_element(By.TAG_NAME, "a").click()
    wait(driver, ec.presence_of_element_located((By.ID, "year-end-total")))
    assert driver.find_element(By.ID, "year-end-filter").is_selected()
    assert "25.000.000" in text_of(driver, "#year-end-total")
    screenshot(driver, "year-end-due")
    driver.find_element(By.LINK_TEXT, str(alloc["id"])).click()
    form = wait(driver, ec.presence_of_element_located((By.ID, "close-form")))
    form.find_element(By.NAME, "amount").send_keys("25.000.000")
    for name in ("date", "decision_date"):
        driver.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, name), "2024-01-15")
    form.find_element(By.NAME, "decision_no").send_keys("3/QĐ-UBND")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "body"), "Đã ghi quyết toán (đóng)."))
    driver.get(stack.url + "/")
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "nav.menu")))
    assert not driver.find_elements(By.ID, "year-end-due")


def _downloaded(folder: Path, timeout: float = 30, suffix: str = ".xlsx") -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob("*" + suffix)]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no download in {folder}: {list(folder.iterdir())}")


def test_a_bhxh_officer_uploads_a_claim_file_and_sees_its_errors(chrome, stack, people, tmp_path):
    admin = stack.token("admin")
    r = requests.post(
        stack.url + "/api/v1/facilities",
        headers={"Authorization": f"Bearer {admin}"},
        json={"code": FACILITY, "name": "Trạm Y tế xã Vĩnh Điều", "unit": "30793"},  # Vĩnh Phú's unit today
        timeout=30,
    )
    assert r.status_code in (201, 409), r.text
    buf = io.BytesIO()
    summary = generator.generate(
        buf,
        facility=FACILITY,
        records=400,
        year=2024,
        months=[7, 8, 9],
        seed=914,
        faults={"card_format": 3, "icd10_invalid": 2, "amount_mismatch": 1},
    )
    fund = {"facility_code": FACILITY, "cards": 1500, "rate_per_card": 9000, "coefficient": "1.0"}
    for period in ("2024-Q2", "2024-Q3"):
        r = requests.post(
            stack.url + "/api/v1/capitation/funds",
            headers={"Authorization": f"Bearer {admin}"},
            json={**fund, "period": period},
            timeout=30,
        )
        assert r.status_code == 201, r.text
    xml = tmp_path / "hoso-914.xml"
    xml.write_bytes(buf.getvalue())
    driver = chrome
    login(driver, stack, people["bhxh"])
    driver.get(stack.url + "/claims")
    driver.find_element(By.ID, "claim-file").send_keys(str(xml))
    driver.find_element(By.ID, "upload-button").click()
    wait(driver, ec.url_contains("/claims/files/"))
    try:  # the page polls the file's status and reloads when it is done
        # 6 records refused: the status says so, with how many of how many were accepted.
        wait(driver, ec.text_to_be_present_in_element((By.ID, "status-text"), "có hồ sơ bị từ chối"), timeout=90)
    except TimeoutException:
        raise AssertionError(driver.page_source[-3000:]) from None
    assert text_of(driver, "#count-total") == "400"
    assert text_of(driver, "#count-accepted") == str(summary.accepted)
    assert text_of(driver, "#count-rejected") == "6"
    assert text_of(driver, "#status-text").endswith(f"{summary.accepted}/400 hồ sơ được chấp nhận")
    # The Vietnamese name of each fault comes first; its code is the last column.
    codes = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#errors tbody tr td:nth-child(7)")]
    assert set(codes) == {code for _, code in summary.faults} and codes.count("card_format") == 3
    ma_lk = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#errors tbody tr td:nth-child(2)")}
    assert ma_lk == {m for m, _ in summary.faults}
    screenshot(driver, "claim-file")
    # Filter by code.
    driver.find_element(By.XPATH, "//a[contains(@class,'chip') and @title='card_format']").click()
    wait(driver, ec.url_contains("code=card_format"))
    codes = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#errors tbody tr td:nth-child(7)")]
    assert codes == ["card_format"] * 3
    # The claims of the quarter (names shown to BHXH) and the reconciliation.
    driver.get(stack.url + f"/claims/records?facility={FACILITY}&period=2024-Q3&status=pending")
    assert len(driver.find_elements(By.CSS_SELECTOR, "input[name^='approved__']")) == min(summary.accepted, 100)
    screenshot(driver, "claims-assessment")
    driver.get(stack.url + f"/reconciliation?facility={FACILITY}&period=2024-Q3")
    assert driver.find_element(By.CSS_SELECTOR, "svg.chart")
    assert "Khớp" in driver.page_source
    screenshot(driver, "reconciliation")
    # The facility's year at a glance: the Q3 report recorded from its form, then what is overdue today.
    driver.get(stack.url + f"/capitation/year?facility={FACILITY}&year=2024")
    form = driver.find_element(By.ID, "report-form-2024-Q3")
    # A date input's typed order follows the browser's locale: set the ISO value the form sends.
    driver.execute_script("arguments[0].value = '2024-10-08'", form.find_element(By.NAME, "received_date"))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, ec.presence_of_element_located((By.ID, "2024-Q3-gives-advance")))
    assert "Đã ghi nhận báo cáo quyết toán Quý III/2024" in driver.page_source
    assert driver.find_element(By.ID, "overdue-2024-Q4-advance")
    screenshot(driver, "capitation-year")
    driver.get(stack.url + "/claims")
    screenshot(driver, "claim-files")


def test_a_station_officer_enters_indicator_facts_on_the_district_page(chrome, stack):
    """A finance officer bound to Giang Thành fills one station's row for 2019 (a year no other test reports)."""
    driver, code, year = chrome, COMMUNE, 2019
    stack.ytcs("user", "create", "--username", "tr-tyt-914", "--role", "finance", "--unit", DISTRICT,
               stdin=PASSWORD + "\n")  # fmt: skip
    login(driver, stack, "tr-tyt-914")
    driver.find_element(By.LINK_TEXT, "Chỉ số trạm y tế").click()
    driver.get(stack.url + f"/indicators?unit={DISTRICT}&year={year}")
    typed = {"population": "9.800", "population_managed": "7350", "doctors": "1", "doctor_days_per_week": "3",
             "source": "Báo cáo 03/BC-TYT"}  # fmt: skip
    for name, value in typed.items():
        box = driver.find_element(By.CSS_SELECTOR, f'input[form="form-{code}"][name="{name}"]')
        box.clear()
        box.send_keys(value)
    Select(driver.find_element(By.CSS_SELECTOR, f'select[form="form-{code}"][name="bhyt_eligible"]')).select_by_value(
        "có"
    )
    driver.find_element(By.ID, f"save-{code}").click()
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "p.flash.ok")))
    assert code in text_of(driver, "p.flash.ok")
    screenshot(driver, "indicators")
    http = requests.Session()
    for c in driver.get_cookies():
        http.cookies.set(c["name"], c["value"])
    current = http.get(f"{stack.url}/api/v1/stations/{code}/indicators/{year}", timeout=30).json()["current"]
    assert (current["population"], current["population_managed"], current["doctor_days_per_week"]) == (9800, 7350, 3)
    assert current["bhyt_eligible"] is True and current["source"] == "Báo cáo 03/BC-TYT"


def test_a_province_officer_imports_allocations_from_the_excel_template(chrome, stack, people, downloads, tmp_path):
    """The province's finance officer downloads plan 158/KH-UBND's template from the allocations page, fills two
    rows (2018, item I.2.b: money no other test records), uploads it with a mistyped amount, reads the refusal,
    mends the cell and uploads it again; then records the district's first payment through the disbursement
    template the same way."""
    driver = chrome
    login(driver, stack, people["province"])
    driver.find_element(By.LINK_TEXT, "Phân bổ").click()
    for old in downloads.glob("*"):
        old.unlink()
    driver.find_element(By.ID, "allocation-template-1").click()
    book = load_workbook(_downloaded(downloads))
    ws = book["Phan bo"]
    column = {c.value: c.column for c in ws[4] if c.value}
    decision = {"item_code": "I.2.b", "source": "Ngân sách tỉnh", "fiscal_year": 2018, "decision_no": "88/QĐ-UBND",
                "decision_date": "20/11/2018"}  # fmt: skip
    for n, (unit, amount) in enumerate(((DISTRICT, "420.000.000"), (COMMUNE, "35.000.000,5")), 5):
        for key, value in {**decision, "recipient_unit": unit, "amount": amount}.items():
            ws.cell(row=n, column=column[key], value=value)

    def upload(kind: str) -> None:  # the page's upload form of `kind` (allocation, disbursement)
        sheet = tmp_path / f"{kind}-2018.xlsx"
        book.save(sheet)
        driver.find_element(By.ID, f"{kind}-file").send_keys(str(sheet))
        driver.find_element(By.ID, f"{kind}-import").click()

    upload("allocation")
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "div.errors")))
    assert "Dòng 6, cột E" in text_of(driver, "div.errors")
    screenshot(driver, "allocation-import")
    ws.cell(row=6, column=column["amount"], value="35.000.000")
    upload("allocation")
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "p.flash.ok")))
    assert "2 phân bổ mới được ghi" in text_of(driver, "p.flash.ok")
    driver.get(stack.url + f"/allocations?plan=1&year=2018&unit={DISTRICT}")
    amounts = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#allocations tbody tr td:nth-child(8)")}
    assert amounts == {"420.000.000 đ", "35.000.000 đ"}

    # The treasury's first payment from the district's allocation, through the disbursement template of the
    # page's year: sent without its voucher number, refused and named; sent with it, recorded.
    for old in downloads.glob("*"):
        old.unlink()
    driver.find_element(By.ID, "disbursement-template-1").click()
    book = load_workbook(_downloaded(downloads))
    offered = {str(r[4]).split()[0]: r[0] for r in book["Danh muc"].iter_rows(min_row=2, values_only=True)}
    ws = book["Giai ngan"]
    for key, value in zip(("allocation_id", "amount", "date"), (offered[DISTRICT], "100.000.000", "05/12/2018")):
        ws.cell(row=5, column=[c.value for c in ws[4]].index(key) + 1, value=value)

    upload("disbursement")
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "div.errors")))
    assert "Dòng 5, cột D" in text_of(driver, "div.errors")
    screenshot(driver, "disbursement-import")
    ws.cell(row=5, column=4, value="UNC 0001")
    upload("disbursement")
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "p.flash.ok")))
    assert "1 lần chi mới được ghi" in text_of(driver, "p.flash.ok")
    driver.get(stack.url + f"/allocations?plan=1&year=2018&unit={DISTRICT}")
    paid = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "#allocations tbody tr td:nth-child(9)")}
    assert "100.000.000 đ" in paid


def test_a_finance_officer_imports_a_treasury_statement_of_project_payments(chrome, stack, people, downloads, tmp_path):
    """The province's officer downloads the project payment template from the projects page of Giang Thành, fills
    a line of the treasury's statement for the district's station project (the source by its name), uploads it
    without its voucher number, reads the refusal, adds the number and sees the payment on the project."""
    api = {"Authorization": f"Bearer {stack.token('finance')}"}
    body = {"station_code": COMMUNE, "kind": "upgrade", "title": "Nâng cấp Trạm Y tế (bảng kê)",
            "estimated_cost": 900_000_000, "plan_id": 1, "item_code": "II.5", "start_year": YEAR}  # fmt: skip
    pid = requests.post(stack.url + "/api/v1/investment/projects", json=body, headers=api, timeout=30).json()["id"]
    capital = {"source": "provincial_budget", "fiscal_year": YEAR, "amount": 500_000_000, "decision_no": "7/QĐ-UBND",
               "decision_date": f"{YEAR}-02-01"}  # fmt: skip
    r = requests.post(f"{stack.url}/api/v1/investment/projects/{pid}/capital", json=capital, headers=api, timeout=30)
    assert r.status_code == 201, r.text

    driver = chrome
    login(driver, stack, people["province"])
    driver.get(stack.url + f"/investment?unit={DISTRICT}")
    for old in downloads.glob("*"):
        old.unlink()
    driver.find_element(By.ID, "project-disbursement-template").click()
    book = load_workbook(_downloaded(downloads))
    source_name = next(r[5] for r in book["Danh muc"].iter_rows(min_row=2, values_only=True) if r[0] == pid)
    ws = book["Giai ngan"]
    keys = [c.value for c in ws[4]]
    line = {"project_id": pid, "source": source_name, "amount": "120.000.000", "date": f"14/06/{YEAR}"}
    for key, value in line.items():
        ws.cell(row=5, column=keys.index(key) + 1, value=value)

    def upload() -> None:
        sheet = tmp_path / "giai-ngan-du-an.xlsx"
        book.save(sheet)
        driver.find_element(By.ID, "project-disbursement-file").send_keys(str(sheet))
        driver.find_element(By.ID, "project-disbursement-import").click()

    upload()
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "div.errors")))
    assert "Dòng 5, cột E" in text_of(driver, "div.errors")
    screenshot(driver, "project-disbursement-import")
    ws.cell(row=5, column=keys.index("reference") + 1, value="UNC 0610")
    upload()
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "p.flash.ok")))
    assert "1 lần chi mới được ghi" in text_of(driver, "p.flash.ok")
    assert driver.current_url.endswith(f"/investment?unit={DISTRICT}")
    project = requests.get(f"{stack.url}/api/v1/investment/projects/{pid}", headers=api, timeout=30).json()
    assert project["by_source"]["provincial_budget"]["disbursed"] == 120_000_000
