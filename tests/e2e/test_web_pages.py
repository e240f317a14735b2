"""The web pages over plain HTTP against the running system: login and logout, CSRF refusal on every form,
sessions that expire, role restrictions and unit scoping, service refusals shown next to the form (not a 500),
personal data masked in pages for roles that may not see it, page writes audited, Vietnamese formatting.

The stack is shared: this module's money goes to Huyện U Minh Thượng (913) in 2023, its claims to facility
91913; users have names of their own."""

from __future__ import annotations

import io
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.common.migrate import upgrade
from services.devtools import claims_generator as generator
from services.gateway import accounts
from services.gateway.app import create_app

PASSWORD = "mật-khẩu-đủ-dài-913"
DISTRICT, COMMUNE, YEAR, FACILITY = "913", "31012", 2023, "91913"
HTML = {"Accept": "text/html"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A person's browser: a cookie jar, Accept: text/html, the CSRF token of the last page seen."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers.update(HTML)
        self.token: str | None = None

    def get(self, path: str, **kw):
        r = self.http.get(self.url + path, timeout=60, **kw)
        m = CSRF.search(r.text)
        if m:
            self.token = m.group(1)
        return r

    def post(self, path: str, data: dict, with_token: bool = True, **kw):
        body = {**data, **({"csrf_token": self.token} if with_token and self.token else {})}
        return self.http.post(self.url + path, data=body, timeout=60, allow_redirects=False, **kw)

    def login(self, username: str, password: str = PASSWORD):
        self.get("/login")
        r = self.post("/login", {"username": username, "password": password, "next": "/"})
        assert r.status_code == 303, r.text
        return r


@pytest.fixture(scope="module")
def people(stack):
    made = {}
    for name, role, unit in (
        ("web-ketoan", "finance", None),
        ("web-bhxh", "bhxh", None),
        ("web-xem", "viewer", None),
        ("web-ketoan-910", "finance", "910"),
    ):
        args = ["user", "create", "--username", name, "--role", role] + (["--unit", unit] if unit else [])
        stack.ytcs(*args, stdin=PASSWORD + "\n")
        made[role if unit is None else f"{role}-{unit}"] = name
    return made


def browser(stack, people, who):
    b = Browser(stack.url)
    b.login(people[who])
    return b


@pytest.fixture(scope="module")
def admin_token(stack):
    return stack.token("admin")


def test_anonymous_people_are_sent_to_the_login_page_and_come_back(stack, people):
    b = Browser(stack.url)
    r = b.http.get(stack.url + "/allocations?year=2023", allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login?next=")
    page = b.get(r.headers["Location"])
    assert page.status_code == 200 and "Đăng nhập" in page.text and 'lang="vi"' in page.text
    r = b.post("/login", {"username": people["finance"], "password": PASSWORD, "next": "/allocations?year=2023"})
    assert r.status_code == 303 and r.headers["Location"] == "/allocations?year=2023"
    assert b.get("/allocations?year=2023").status_code == 200
    # A program without Accept: text/html gets the API's JSON 401, as the role × endpoint matrix expects.
    r = requests.get(stack.url + "/allocations", timeout=30)
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "unauthorized"


def test_a_wrong_password_is_said_in_vietnamese_on_the_login_page(stack, people):
    b = Browser(stack.url)
    b.get("/login")
    r = b.post("/login", {"username": people["viewer"], "password": "sai mật khẩu", "next": "/"})
    assert r.status_code == 303 and "error=invalid_credentials" in r.headers["Location"]
    page = b.get(r.headers["Location"])
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in page.text


def test_logout_ends_the_session(stack, people):
    b = browser(stack, people, "viewer")
    assert b.get("/").status_code == 200
    r = b.post("/logout", {})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert b.http.get(stack.url + "/", allow_redirects=False, timeout=30).status_code == 303


def test_every_form_post_needs_the_csrf_token_of_the_session(stack, people):
    b = browser(stack, people, "finance")
    b.get("/allocations/new")
    form = {
        "plan_id": "1",
        "item_code": "II.3",
        "source": "provincial_budget",
        "fiscal_year": str(YEAR),
        "recipient_unit": DISTRICT,
        "amount": "1.000.000",
        "decision_no": "1/QĐ",
        "decision_date": "2023-01-02",
    }
    before = requests.get(
        stack.url + "/allocations",
        params={"unit": DISTRICT, "year": YEAR},
        headers=HTML,
        cookies=b.http.cookies,
        timeout=30,
    ).text.count("<tr>")
    r = b.post("/allocations/new", form, with_token=False)
    assert r.status_code == 400 and "CSRF" in r.text
    r = b.post("/allocations/new", {**form, "csrf_token": "forged"}, with_token=False)
    assert r.status_code == 400
    other = browser(stack, people, "finance")  # the same person in another browser: another session
    other.get("/allocations/new")
    r = b.post("/allocations/new", {**form, "csrf_token": other.token}, with_token=False)
    assert r.status_code == 400  # a token of another session is refused too
    for path in ("/allocations/1/disbursements", "/allocations/1/adjustments", "/claims/assessments"):
        assert b.post(path, {"amount": "1"}, with_token=False).status_code in (400, 403)
    after = b.get("/allocations", params={"unit": DISTRICT, "year": YEAR}).text.count("<tr>")
    assert after == before  # nothing was written
    # JSON for programs: the same refusal in the API's error shape.
    r = requests.post(stack.url + "/allocations/new", data=form, cookies=b.http.cookies, timeout=30)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "csrf_invalid"


def test_a_finance_officer_records_an_allocation_a_disbursement_and_an_adjustment(stack, people, admin_token):
    b = browser(stack, people, "finance")
    b.get("/allocations/new")
    r = b.post(
        "/allocations/new",
        {
            "plan_id": "1",
            "item_code": "II.2.5",
            "source": "provincial_budget",
            "fiscal_year": str(YEAR),
            "recipient_unit": DISTRICT,
            "amount": "1.250.000.000",
            "decision_no": "15/QĐ-UBND",
            "decision_date": "2023-02-10",
        },
    )
    assert r.status_code == 303, r.text
    page = b.get(r.headers["Location"])
    allocation_id = int(r.headers["Location"].rsplit("/", 1)[1])
    assert "Đã ghi phân bổ số" in page.text and "1.250.000.000\u00a0đ" in page.text
    r = b.post(
        f"/allocations/{allocation_id}/disbursements",
        {"amount": "400.000.000", "date": "2023-05-02", "reference": "UNC 913"},
    )
    assert r.status_code == 303
    r = b.post(
        f"/allocations/{allocation_id}/adjustments",
        {"amount": "-250.000.000", "decision_no": "20/QĐ-UBND", "decision_date": "2023-08-01"},
    )
    assert r.status_code == 303
    page = b.get(f"/allocations/{allocation_id}")
    assert re.search(r'id="allocated">1\.000\.000\.000\u00a0đ', page.text)
    assert re.search(r'id="remaining">600\.000\.000\u00a0đ', page.text)
    # The roll-up: the district's page shows the item's money and its rate (40,0 %).
    home = b.get("/", params={"plan": 1, "year": YEAR, "unit": DISTRICT})
    row = re.search(r'data-code="II\.2\.5">(.*?)</tr>', home.text, re.S).group(1)
    assert "1.000.000.000\u00a0đ" in row and "400.000.000\u00a0đ" in row and "40,0\u00a0%" in row
    # The API sees the same money (written through the pages, not the API).
    api = requests.get(
        stack.url + f"/api/v1/allocations/{allocation_id}",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    ).json()
    assert (api["allocated"], api["disbursed"]) == (1_000_000_000, 400_000_000)
    # Each page write left an audit entry, with what was entered.
    audit = requests.get(
        stack.url + "/api/v1/audit",
        headers={"Authorization": f"Bearer {admin_token}"},
        params={"per_page": 200},
        timeout=30,
    ).json()["items"]
    mine = [e for e in audit if e["actor"] == f"user:{people['finance']}" and e["action"].startswith("web.")]
    actions = {e["action"] for e in mine}
    assert {"web.create_allocation", "web.disburse", "web.adjust"} <= actions
    created = next(e for e in mine if e["action"] == "web.create_allocation" and e.get("status") == 303)
    assert created["details"]["result_id"] == allocation_id
    assert created["details"]["form"]["decision_no"] == "15/QĐ-UBND" and "csrf_token" not in created["details"]["form"]


FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def test_a_form_sent_twice_records_once(stack, people, admin_token):
    """A double click, or a form sent again after a slow answer, records one allocation, one disbursement."""
    b = browser(stack, people, "finance")
    key = FORM_KEY.search(b.get("/allocations/new").text).group(1)
    decision = f"{uuid.uuid4().hex[:6]}/QĐ-UBND"
    form = {"plan_id": "1", "item_code": "II.2.6", "source": "provincial_budget", "fiscal_year": str(YEAR),
            "recipient_unit": DISTRICT, "amount": "70.000.000", "decision_no": decision,
            "decision_date": "2023-03-01", "form_key": key}
    twin = Browser(stack.url)  # the same browser's second connection: same session cookie, same token
    twin.http.cookies.update(b.http.cookies)
    twin.token = b.token
    with ThreadPoolExecutor(2) as pool:  # both sendings at once, as a double click makes them
        answers = list(pool.map(lambda who: who.post("/allocations/new", form), (b, twin)))
    answers.append(b.post("/allocations/new", form))  # and once more, later
    assert [r.status_code for r in answers] == [303, 303, 303], [r.text[:300] for r in answers]
    assert len({r.headers["Location"] for r in answers}) == 1
    assert sum(r.headers.get("Idempotent-Replay") == "true" for r in answers) == 2
    api = {"Authorization": f"Bearer {admin_token}"}
    listed = requests.get(stack.url + "/api/v1/allocations", headers=api, timeout=30, params={
        "plan_id": 1, "item_code": "II.2.6", "year": YEAR, "unit": DISTRICT, "per_page": 500}).json()["items"]
    mine = [a for a in listed if a["decision_no"] == decision]
    assert len(mine) == 1 and mine[0]["allocated"] == 70_000_000
    # The page it leads to says once that the second sending recorded nothing.
    assert "không ghi lần thứ hai" in b.get(answers[0].headers["Location"]).text

    page = b.get(f"/allocations/{mine[0]['id']}")
    pay = {"amount": "30.000.000", "date": "2023-04-01", "reference": "UNC hai lần",
           "form_key": FORM_KEY.search(page.text).group(1)}  # the first form of the page: the disbursement's
    first, again = (b.post(f"/allocations/{mine[0]['id']}/disbursements", pay) for _ in range(2))
    assert (first.status_code, again.status_code, again.headers.get("Idempotent-Replay")) == (303, 303, "true")
    got = requests.get(stack.url + f"/api/v1/allocations/{mine[0]['id']}", headers=api, timeout=30).json()
    assert (got["disbursed"], len(got["disbursements"])) == (30_000_000, 1)

    # A form shown again with its errors carries a new key, so the corrected form is recorded.
    key = FORM_KEY.search(b.get("/allocations/new").text).group(1)
    bad = b.post("/allocations/new", {**form, "amount": "bảy mươi triệu", "form_key": key})
    fresh = FORM_KEY.search(bad.text).group(1)
    assert bad.status_code in (400, 422) and fresh != key
    fixed = b.post("/allocations/new", {**form, "decision_no": decision + "b", "form_key": fresh})
    assert fixed.status_code == 303 and fixed.headers.get("Idempotent-Replay") is None


def test_a_refusal_of_the_service_is_shown_next_to_the_form(stack, people):
    b = browser(stack, people, "finance")
    b.get("/allocations/new")
    r = b.post(
        "/allocations/new",
        {
            "plan_id": "1",
            "item_code": "II.1",
            "source": "provincial_budget",
            "fiscal_year": str(YEAR),
            "recipient_unit": DISTRICT,
            "amount": "100.000.000",
            "decision_no": "3/QĐ",
            "decision_date": "2023-01-05",
        },
    )
    allocation_id = int(r.headers["Location"].rsplit("/", 1)[1])
    b.get(f"/allocations/{allocation_id}")
    r = b.post(f"/allocations/{allocation_id}/disbursements", {"amount": "900.000.000", "date": "2023-05-02"})
    assert r.status_code == 422
    assert "Chưa ghi được" in r.text and "vượt" in r.text and 'value="900.000.000"' in r.text
    r = b.post(f"/allocations/{allocation_id}/disbursements", {"amount": "12,5", "date": "không phải ngày"})
    assert r.status_code == 422 and "Ngày không hợp lệ" in r.text
    b.get("/allocations/new")
    r = b.post(
        "/allocations/new",
        {
            "plan_id": "1",
            "item_code": "II.1",
            "source": "provincial_budget",
            "fiscal_year": "2031",
            "recipient_unit": DISTRICT,
            "amount": "5",
        },
    )
    assert r.status_code == 422 and "ngoài thời kỳ" in r.text


def test_roles_and_units_are_held_in_the_pages(stack, people):
    viewer = browser(stack, people, "viewer")
    r = viewer.get("/allocations/new")
    assert r.status_code == 403 and "không được phép" in r.text
    viewer.get("/")
    assert viewer.post("/allocations/new", {"amount": "1"}).status_code == 403
    assert viewer.post("/claims/assessments", {"facility_code": FACILITY}).status_code == 403
    assert "Ghi phân bổ mới" not in viewer.get("/allocations").text
    scoped = browser(stack, people, "finance-910")
    r = scoped.get("/", params={"unit": DISTRICT})
    assert r.status_code == 403 and "ngoài phạm vi" in r.text
    scoped.get("/allocations/new")
    r = scoped.post(
        "/allocations/new",
        {
            "plan_id": "1",
            "item_code": "II.1",
            "source": "provincial_budget",
            "fiscal_year": str(YEAR),
            "recipient_unit": DISTRICT,
            "amount": "1000",
        },
    )
    assert r.status_code == 403 and "ngoài phạm vi" in r.text
    assert DISTRICT not in [m for m in re.findall(r'<option value="(\d+)"', scoped.get("/allocations/new").text)]


def _upload_and_wait(b: Browser, data: bytes) -> tuple[int, str]:
    b.get("/claims")
    r = b.http.post(
        b.url + "/claims/files",
        data={"csrf_token": b.token},
        files={"file": ("hoso.xml", data, "application/xml")},
        allow_redirects=False,
        timeout=60,
    )
    assert r.status_code == 303, r.text
    file_id = int(r.headers["Location"].rsplit("/", 1)[1])
    deadline = time.monotonic() + 90
    while True:
        page = b.get(f"/claims/files/{file_id}")
        if 'data-status="processing"' not in page.text:
            return file_id, page.text
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_claims_upload_errors_assessment_masking_and_reconciliation_in_pages(stack, people, admin_token):
    r = requests.post(
        stack.url + "/api/v1/facilities",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={"code": FACILITY, "name": "Trạm Y tế xã Thạnh Yên", "unit": COMMUNE},
        timeout=30,
    )
    assert r.status_code in (201, 409), r.text
    buf = io.BytesIO()
    summary = generator.generate(
        buf,
        facility=FACILITY,
        records=12,
        year=2024,
        months=[7, 8, 9],
        seed=913,
        faults={"icd10_invalid": 1, "date_order": 1},
    )
    bhxh = browser(stack, people, "bhxh")
    file_id, page = _upload_and_wait(bhxh, buf.getvalue())
    assert re.search(r'id="count-total">12<', page) and re.search(r'id="count-rejected">2<', page)
    assert "icd10_invalid" in page and "date_order" in page
    filtered = bhxh.get(f"/claims/files/{file_id}", params={"code": "date_order"}).text
    table = filtered.split('id="errors"', 1)[1]
    assert "date_order" in table and "icd10_invalid" not in table
    csv_text = bhxh.get(f"/api/v1/claims/files/{file_id}/errors.csv").text
    assert csv_text.count("\n") == 3  # heading + 2 errors, read with the session cookie
    # The same file again: nothing counted twice, said in the page.
    r = bhxh.http.post(
        bhxh.url + "/claims/files",
        data={"csrf_token": bhxh.token},
        files={"file": ("hoso.xml", buf.getvalue(), "application/xml")},
        timeout=60,
    )
    assert "đã được gửi trước đây" in r.text
    # Personal data: BHXH sees it, a viewer and a finance officer do not.
    records = bhxh.get("/claims/records", params={"facility": FACILITY, "period": "2024-Q3"}).text
    ma_lk = re.findall(r'name="approved__([^"]+)"', records)
    assert len(ma_lk) == summary.accepted
    names = re.findall(r'class="text personal">([^<]*)<', records)
    assert names and all(n != "***" for n in names)
    # The two records rejected at intake are listed as such, linked to the file's errors, with nothing to assess.
    rejected = [row for row in records.split("<tr>") if "rejected-at-intake" in row]
    assert len(rejected) == 2 and all(f'href="/claims/files/{file_id}"' in row for row in rejected)
    assert not any('name="reason__' in row or "chờ" in row for row in rejected)
    assert records.count('name="reason__') == summary.accepted
    for who in ("viewer", "finance"):
        other = browser(stack, people, who)
        page = other.get("/claims/records", params={"facility": FACILITY, "period": "2024-Q3"})
        text = page.text
        assert page.status_code == 403, who  # claims one by one are health data: admin and bhxh only (issue 13)
        assert not any(n in text for n in names if n) and not any(m in text for m in ma_lk)
        assert 'name="approved__' not in text
    # Assessment: approve one claim in full, one with less and a reason; the reconciliation follows.
    rows = dict(re.findall(r'name="approved__([^"]+)"[^>]*placeholder="([0-9.]+)"', records))
    first, second = ma_lk[0], ma_lk[1]
    reason = re.search(r'<option value="([a-z_]+)">', records).group(1)
    r = bhxh.post(
        "/claims/assessments",
        {
            "facility_code": FACILITY,
            "period": "2024-Q3",
            f"approved__{first}": rows[first],
            f"approved__{second}": "0",
            f"reason__{second}": reason,
        },
    )
    assert r.status_code == 303, r.text
    assert "Đã ghi kết quả giám định 2 hồ sơ" in bhxh.get(r.headers["Location"]).text
    rec = bhxh.get("/reconciliation", params={"facility": FACILITY, "period": "2024-Q3"}).text
    api = requests.get(
        stack.url + "/api/v1/reconciliation",
        params={"facility": FACILITY, "period": "2024-Q3"},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    ).json()["claims"]
    assert api["assessed"] == 2
    from services.gateway.web.format import money2

    for key in ("requested", "approved", "rejected", "pending"):
        assert f'id="rec-{key}">{money2(api[key])}<' in rec
    assert "Khớp: đề nghị = duyệt + từ chối + chờ giám định." in rec and "<svg" in rec
    # A facility chosen alone: each page with a quarter picker offers the facility's quarters on record, newest
    # first, and opens on the newest.
    for path in ("/reconciliation", "/claims/records", "/capitation/quarter"):
        page = bhxh.get(path, params={"facility": FACILITY}).text
        offered = re.findall(r'<option value="(Quý [^"]+)"></option>', page.split('id="quarters-on-record"', 1)[1])
        typed = re.search(r'<input name="period"[^>]*list="quarters-on-record"[^>]*value="([^"]*)"', page).group(1)
        assert "Quý III/2024" in offered and typed == offered[0], (path, offered, typed)
    alone = bhxh.get("/reconciliation", params={"facility": FACILITY}).text
    assert 'id="rec-requested">' in alone and "Chọn cơ sở và quý" not in alone
    # An assessment the service refuses (less than requested without a reason) is shown on the page.
    r = bhxh.post("/claims/assessments", {"facility_code": FACILITY, "period": "2024-Q3", f"approved__{ma_lk[2]}": "1"})
    assert r.status_code == 422 and "Chưa ghi được" in r.text


def test_sessions_expire(tmp_path):
    """The stack's sessions last hours (YTCS_SESSION_HOURS); the same app with a 1-second lifetime shows the
    mechanism: a cookie older than PERMANENT_SESSION_LIFETIME no longer identifies anyone."""
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade("gateway", url)
    app = create_app({"GATEWAY_DB_URL": url, "PERMANENT_SESSION_LIFETIME": timedelta(seconds=1), "TESTING": True})
    with sessionmaker(make_engine(url))() as s:
        accounts.create_user(s, "hethan", PASSWORD, "viewer")
        s.commit()
    client = app.test_client()
    page = client.get("/login")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": "hethan", "password": PASSWORD, "csrf_token": token}, headers=HTML)
    assert r.status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 200
    time.sleep(2.2)
    assert client.get("/api/v1/auth/me").status_code == 401
    r = client.get("/", headers=HTML)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login")
