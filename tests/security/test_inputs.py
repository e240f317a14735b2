"""Inputs a careful user or an attacker types (issue 13, findings 4 and 6): money typed in the forms is read one
way only, ids and years past the database's range are a named 4xx (never the driver's overflow as a 503),
dates outside 2015-01-01 … today + 1 year are refused by name, bidi control characters are refused in free
text, and what the pages say about a refused form is Vietnamese (labels, not field names).

Each test failed on the code before the fix: "1000000.5" was recorded as 10.000.005 đ, `plan_id=2^63` and
`year=99999999999999999999` answered 503, disbursements dated 2099-01-01 / 2000-01-01 and a decision dated
0001-01-01 were recorded, a decision number with U+202E was recorded, and error boxes showed `<code>amount</code>`.

    .venv/bin/pytest -q -p no:cacheprovider tests/security/test_inputs.py
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests

from services.common import clock
from services.gateway.app import create_app
from tests.support.infra import Stack

pytestmark = [pytest.mark.slow, pytest.mark.rabbit, pytest.mark.postgres]

PASSWORD = "mật-khẩu-đủ-dài-914"
DISTRICT, YEAR = "914", 2024  # this module's money: Huyện Giang Thành, 2024
HTML = {"Accept": "text/html"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')
BIG = (2**63, 2**64, 10**20, -(2**63) - 1)
BIDI = (
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
)
METHODS = ("get", "post", "put", "patch", "delete")
PATH_DEFAULTS = {"plan_id": "1", "code": "31060", "facility": "91060", "ma_lk": "1", "file_id": "1"}


def _spec() -> dict[str, Any]:
    app = create_app({"GATEWAY_DB_URL": "sqlite://"})  # the document only: nothing connects
    return app.test_client().get("/api/v1/openapi.json").get_json()


SPEC = _spec()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _is_int(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    return "integer" in ([types] if isinstance(types, str) else (types or []))


def _integer_inputs() -> list[tuple[str, str, str, str]]:
    """(path, method, where, name) of every integer the API takes: path, query, top-level JSON body fields."""
    out = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            for p in op.get("parameters", []):
                if p["in"] in ("path", "query") and _is_int(_resolve(p.get("schema", {}))):
                    out.append((path, method, p["in"], p["name"]))
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            if media:
                for name, sub in _resolve(media.get("schema", {})).get("properties", {}).items():
                    if _is_int(_resolve(sub)):
                        out.append((path, method, "body", name))
    return out


INTEGERS = _integer_inputs()


class Browser:
    """A person's browser: a cookie jar, Accept: text/html, the CSRF token and form key of the last page."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers.update(HTML)
        self.token: str | None = None
        self.form_key: str | None = None

    def get(self, path: str) -> requests.Response:
        r = self.http.get(self.url + path, timeout=60)
        if m := CSRF.search(r.text):
            self.token = m.group(1)
        if m := FORM_KEY.search(r.text):
            self.form_key = m.group(1)
        return r

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        body = {**data, "csrf_token": self.token or ""}
        return self.http.post(self.url + path, data=body, timeout=60, allow_redirects=False)


def _api(stack: Stack, token: str, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(
        method, stack.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60, allow_redirects=False, **kw
    )


@pytest.fixture(scope="module")
def plan_id(sec_stack: Stack, sec_tokens: dict[str, str]) -> int:
    plans = _api(sec_stack, sec_tokens["admin"], "GET", "/api/v1/plans").json()["items"]
    return int(next(p for p in plans if p["level"] == "province")["id"])


def _allocation(stack: Stack, token: str, plan: int, **extra: Any) -> requests.Response:
    body = {
        "plan_id": plan,
        "item_code": "II.2.5",
        "source": "provincial_budget",
        "fiscal_year": YEAR,
        "recipient_unit": DISTRICT,
        "amount": 500_000_000,
        "decision_no": "7/QĐ-UBND",
        "decision_date": "2024-02-01",
        **extra,
    }
    return _api(stack, token, "POST", "/api/v1/allocations", json=body)


@pytest.fixture(scope="module")
def allocation(sec_stack: Stack, sec_tokens: dict[str, str], plan_id: int) -> int:
    r = _allocation(sec_stack, sec_tokens["finance"], plan_id)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.fixture(scope="module")
def officer(sec_stack: Stack) -> Browser:
    sec_stack.ytcs("user", "create", "--username", "inputs-ketoan", "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(sec_stack.url)
    b.get("/login")
    r = b.post("/login", {"username": "inputs-ketoan", "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return b


def _disbursed(stack: Stack, token: str, allocation_id: int) -> int:
    return int(_api(stack, token, "GET", f"/api/v1/allocations/{allocation_id}").json()["disbursed"])


def _errors(r: requests.Response) -> dict[str, str]:
    return {e["field"]: e["code"] for e in r.json()["errors"]}


# --- finding 4: money typed in the forms ----------------------------------------------------------------------


def test_money_typed_in_a_page_form_is_never_recorded_ten_times_over(
    sec_stack: Stack, sec_tokens: dict[str, str], allocation: int, officer: Browser
) -> None:
    admin = sec_tokens["admin"]
    before = _disbursed(sec_stack, admin, allocation)
    for typed in ("1000000.5", "1000.5", "1,5", "1.000.00", "1.000 000"):
        officer.get(f"/allocations/{allocation}")
        r = officer.post(
            f"/allocations/{allocation}/disbursements",
            {"amount": typed, "date": "2024-05-02", "reference": "UNC 914", "form_key": officer.form_key or ""},
        )
        assert r.status_code == 422, (typed, r.status_code, r.headers.get("Location"))
        assert "Số tiền" in r.text and "<code>amount</code>" not in r.text, typed
        assert _disbursed(sec_stack, admin, allocation) == before, f"{typed!r} was recorded"
    # The app's own display form is read as what it shows.
    officer.get(f"/allocations/{allocation}")
    r = officer.post(
        f"/allocations/{allocation}/disbursements",
        {
            "amount": "1.000.000\u00a0đ",
            "date": "2024-05-02",
            "reference": "UNC 914",
            "form_key": officer.form_key or "",
        },
    )
    assert r.status_code == 303, r.text
    assert _disbursed(sec_stack, admin, allocation) == before + 1_000_000
    # The API reads a money string with the same reader.
    r = _api(
        sec_stack,
        sec_tokens["finance"],
        "POST",
        f"/api/v1/allocations/{allocation}/disbursements",
        json={"amount": "1000000.5", "date": "2024-05-03"},
    )
    assert r.status_code == 422 and _errors(r) == {"amount": "invalid_amount"}, r.text
    assert "số thập phân" in r.json()["errors"][0]["message"]
    assert _disbursed(sec_stack, admin, allocation) == before + 1_000_000


# --- finding 6: ids and years past the database's range ------------------------------------------------------


def test_the_document_bounds_every_integer_the_api_takes() -> None:
    """Stated bounds are what the fuzz run (tests/e2e/test_openapi.py) probes at and past: every integer a client
    sends has a maximum within BIGINT, so values of 2^63 and beyond are generated and must be refused."""
    unbounded = []
    for path, method, where, name in INTEGERS:
        op = SPEC["paths"][path][method]
        if where == "body":
            media = op["requestBody"]["content"]["application/json"]
            schema = _resolve(_resolve(media["schema"])["properties"][name])
        else:
            schema = _resolve(next(p for p in op["parameters"] if p["in"] == where and p["name"] == name)["schema"])
        if not (schema.get("maximum", 2**63) <= 2**63 - 1 and schema.get("minimum", -(2**64)) >= -(2**63)):
            unbounded.append(f"{method.upper()} {path} {where} {name}: {schema}")
    assert INTEGERS and unbounded == [], "\n".join(unbounded)


def test_ids_and_years_past_bigint_are_a_named_4xx_not_a_503(
    sec_stack: Stack, sec_tokens: dict[str, str], allocation: int, plan_id: int
) -> None:
    finance = sec_tokens["finance"]
    for params, field in (
        ({"plan_id": 2**63}, "plan_id"),
        ({"parent_id": 2**63}, "parent_id"),
        ({"year": 99999999999999999999}, "year"),
    ):
        r = _api(sec_stack, finance, "GET", "/api/v1/allocations", params=params)
        assert r.status_code == 422 and field in _errors(r), (params, r.status_code, r.text[:300])
        assert "Must be" not in r.text
    r = _api(sec_stack, finance, "GET", "/api/v1/investment/projects", params={"plan_id": 2**63})
    assert r.status_code == 422 and "plan_id" in _errors(r), r.text[:300]
    r = _api(sec_stack, finance, "GET", "/api/v1/units/910/funding", params={"year": 99999999999999999999})
    assert r.status_code == 422 and "year" in _errors(r), r.text[:300]
    r = _allocation(sec_stack, finance, plan_id, parent_allocation_id=2**63)
    assert r.status_code == 422 and "parent_allocation_id" in _errors(r), r.text[:300]
    r = _allocation(sec_stack, finance, plan_id, fiscal_year=2**63)
    assert r.status_code == 422 and "fiscal_year" in _errors(r), r.text[:300]
    r = _api(sec_stack, finance, "GET", f"/api/v1/allocations/{2**63}")
    assert r.status_code == 404, r.text[:300]


@pytest.mark.parametrize(
    ("path", "method", "where", "name"), INTEGERS, ids=[f"{m.upper()} {p} {n}" for p, m, _, n in INTEGERS]
)
def test_no_integer_input_gives_a_5xx(
    sec_stack: Stack, sec_tokens: dict[str, str], path: str, method: str, where: str, name: str
) -> None:
    op = SPEC["paths"][path][method]
    for value in BIG:
        url, query = path, {}
        for p in op.get("parameters", []):
            given = (
                value if (p["in"], p["name"]) == (where, name) else p.get("example", PATH_DEFAULTS.get(p["name"], 1))
            )
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", quote(str(given), safe=""))
            elif p["in"] == "query" and (p.get("required") or p["name"] == name):
                query[p["name"]] = given
        kw: dict[str, Any] = {"params": query}
        media = op.get("requestBody", {}).get("content", {})
        if "application/json" in media:
            body = dict(media["application/json"].get("example") or {})
            if where == "body":
                body[name] = value
            kw["json"] = body
        r = _api(sec_stack, sec_tokens["admin"], method.upper(), url, **kw)
        assert r.status_code < 500, (value, r.status_code, r.text[:300])
        if where == "path":  # no record has that number, whatever the method (a PUT was 405 beside a GET rule)
            assert r.status_code == 404, (value, r.status_code, r.text[:300])


def test_page_forms_take_odd_ids_without_a_5xx(sec_stack: Stack, plan_id: int, officer: Browser) -> None:
    """Form fields are text: a superscript digit ("²" passes str.isdigit) or a number past BIGINT in an id field is
    a named refusal on the form again, not a 500 from int() nor a 503 from the database."""
    for odd in ("²", "99999999999999999999", "9223372036854775808", "-1", "1.000"):
        officer.get("/allocations/new")
        r = officer.post(
            "/allocations/new",
            {
                "plan_id": str(plan_id),
                "item_code": "II.2.5",
                "source": "provincial_budget",
                "fiscal_year": str(YEAR),
                "recipient_unit": DISTRICT,
                "amount": "1.000",
                "parent_allocation_id": odd,
                "form_key": officer.form_key or "",
            },
        )
        assert r.status_code == 422 and "Phân bổ cấp trên" in r.text, (odd, r.status_code, r.text[:300])


# --- dates within 2015-01-01 … today + 1 year -------------------------------------------------------------------


def test_dates_outside_the_plausible_window_are_refused_by_name(
    sec_stack: Stack, sec_tokens: dict[str, str], allocation: int, plan_id: int, officer: Browser
) -> None:
    finance, admin = sec_tokens["finance"], sec_tokens["admin"]
    before = _disbursed(sec_stack, admin, allocation)
    too_late = (clock.today() + timedelta(days=400)).isoformat()
    for day in ("2099-01-01", "2000-01-01", "0001-01-01", "2014-12-31", too_late):
        r = _api(
            sec_stack,
            finance,
            "POST",
            f"/api/v1/allocations/{allocation}/disbursements",
            json={"amount": 1_000, "date": day},
        )
        assert r.status_code == 422 and _errors(r) == {"date": "date_out_of_range"}, (day, r.text[:300])
        assert "01/01/2015" in r.json()["errors"][0]["message"]
        r = _api(
            sec_stack,
            finance,
            "POST",
            f"/api/v1/allocations/{allocation}/adjustments",
            json={"amount": 1_000, "decision_no": "9/QĐ-UBND", "decision_date": day},
        )
        assert r.status_code == 422 and _errors(r) == {"decision_date": "date_out_of_range"}, (day, r.text[:300])
    r = _allocation(sec_stack, finance, plan_id, decision_date="0001-01-01")
    assert r.status_code == 422 and _errors(r) == {"decision_date": "date_out_of_range"}, r.text[:300]
    r = _api(
        sec_stack,
        finance,
        "POST",
        "/api/v1/investment/projects",
        json={
            "station_code": "31060",
            "kind": "renovation",
            "title": "Sửa chữa trạm",
            "estimated_cost": 1_000_000,
            "plan_id": plan_id,
            "item_code": "II.5",
            "decision_no": "3/QĐ-UBND",
            "decision_date": "0001-01-01",
        },
    )
    assert r.status_code == 422 and _errors(r) == {"decision_date": "date_out_of_range"}, r.text[:300]
    # The page says it in Vietnamese, next to the field, and records nothing.
    officer.get(f"/allocations/{allocation}")
    r = officer.post(
        f"/allocations/{allocation}/disbursements",
        {"amount": "1.000", "date": "2099-01-01", "form_key": officer.form_key or ""},
    )
    assert r.status_code == 422 and "nằm ngoài khoảng cho phép" in r.text
    assert _disbursed(sec_stack, admin, allocation) == before
    # Inside the window the date rule says nothing: today and the first day may still meet the ledger's own rules
    # (a district merged away is not in force today), the fiscal year's own date is recorded.
    for day in (clock.today().isoformat(), "2015-01-01", "2024-06-01"):
        r = _api(
            sec_stack,
            finance,
            "POST",
            f"/api/v1/allocations/{allocation}/disbursements",
            json={"amount": 1_000, "date": day},
        )
        assert r.status_code == 201 or "date_out_of_range" not in r.text, (day, r.text[:300])
    assert r.status_code == 201, r.text[:300]


# --- bidi controls in free text --------------------------------------------------------------------------------


def test_bidi_controls_are_refused_in_free_text(
    sec_stack: Stack, sec_tokens: dict[str, str], allocation: int, plan_id: int, officer: Browser
) -> None:
    finance = sec_tokens["finance"]
    for mark in BIDI:
        r = _allocation(sec_stack, finance, plan_id, decision_no=f"125/QĐ-UBND{mark}4202-30-51")
        assert r.status_code == 422 and _errors(r) == {"decision_no": "bidi_control"}, (hex(ord(mark)), r.text[:300])
    assert "ký tự điều khiển hướng chữ" in r.json()["errors"][0]["message"]
    r = _api(
        sec_stack,
        finance,
        "POST",
        f"/api/v1/allocations/{allocation}/adjustments",
        json={"amount": 1_000, "decision_no": "9/QĐ-UBND", "note": "ghi chú \u200f", "decision_date": "2024-03-01"},
    )
    assert r.status_code == 422 and _errors(r) == {"note": "bidi_control"}, r.text[:300]
    r = _api(
        sec_stack,
        finance,
        "POST",
        f"/api/v1/allocations/{allocation}/disbursements",
        json={"amount": 1_000, "date": "2024-03-01", "reference": "UNC \u2066914\u2069"},
    )
    assert r.status_code == 422 and _errors(r) == {"reference": "bidi_control"}, r.text[:300]
    r = _api(
        sec_stack,
        finance,
        "POST",
        "/api/v1/investment/projects",
        json={
            "station_code": "31060",
            "kind": "renovation",
            "title": "Trạm \u202eabc",
            "estimated_cost": 1_000_000,
            "plan_id": plan_id,
            "item_code": "II.5",
        },
    )
    assert r.status_code == 422 and _errors(r) == {"title": "bidi_control"}, r.text[:300]
    r = _api(
        sec_stack,
        sec_tokens["admin"],
        "POST",
        "/api/v1/facilities",
        json={"code": "91914", "name": "Trạm Y tế \u202exã", "unit": "31064", "kind": "station"},
    )
    assert r.status_code == 422 and _errors(r) == {"name": "bidi_control"}, r.text[:300]
    # The page form: refused with the Vietnamese label of the field, nothing recorded.
    officer.get("/allocations/new")
    r = officer.post(
        "/allocations/new",
        {
            "plan_id": str(plan_id),
            "item_code": "II.2.5",
            "source": "provincial_budget",
            "fiscal_year": str(YEAR),
            "recipient_unit": DISTRICT,
            "amount": "1.000.000",
            "decision_no": "125/QĐ\u202e4202",
            "decision_date": "2024-02-01",
            "form_key": officer.form_key or "",
        },
    )
    assert r.status_code == 422 and "Số quyết định" in r.text and "ký tự điều khiển hướng chữ" in r.text
    listed = _api(sec_stack, finance, "GET", "/api/v1/allocations", params={"unit": DISTRICT, "per_page": 500})
    assert not any("\u202e" in (a.get("decision_no") or "") for a in listed.json()["items"])


# --- messages for people are Vietnamese ------------------------------------------------------------------------


def test_refused_forms_speak_vietnamese_with_field_labels(
    sec_stack: Stack, sec_tokens: dict[str, str], allocation: int, officer: Browser
) -> None:
    officer.get(f"/allocations/{allocation}")
    r = officer.post(
        f"/allocations/{allocation}/disbursements",
        {"amount": "12abc", "date": "15/13/2024", "form_key": officer.form_key or ""},
    )
    assert r.status_code == 422
    box = re.search(r'<div class="errors".*?</div>', r.text, re.S).group(0)
    assert "Số tiền" in box and "Ngày" in box, box
    for english in ("<code>", "amount", "Not a valid", "Must be", "Missing data"):
        assert english not in box, (english, box)
    # API range messages are Vietnamese too (the field stays named for programs).
    r = _api(sec_stack, sec_tokens["finance"], "GET", "/api/v1/allocations", params={"page": 0})
    assert r.status_code == 422 and _errors(r) == {"page": "out_of_range"}
    assert r.json()["errors"][0]["message"] == "Giá trị phải từ 1 đến 1000000."
