"""The plans' targets measured on the running system (`ytcs run`, real RabbitMQ): Vĩnh Thuận's 8 stations and
its health centre report their 2024 facts, half through the API and half through the Excel template; every
target of plan 34/KH-UBND is then answered to two decimals with met or not, as computed by hand below; one
bad cell refuses the whole sheet; a correction keeps the old version; after the 2025 merger the 3 successor
communes are the denominator.

Nothing else in the e2e suite records indicator facts for 2024 or 2025 (test_gateway_funding asks for 2023)."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from openpyxl import load_workbook

from tests.support.infra import Stack

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOURCE = "Báo cáo thống kê y tế xã năm 2024 (biểu 01/TYT)"
NAMES = (
    "population",
    "population_managed",
    "doctors",
    "doctor_days_per_week",
    "doctors_family_medicine",
    "services_performed",
    "services_in_list",
    "national_criteria_met",
    "bhyt_eligible",
)
# code    pop    managed doctors days fm  performed list  criteria bhyt
STATIONS = {
    "31051": (12000, 10800, 3, 5, 2, 110, 120, True, True),
    "31060": (8000, 6000, 1, 2, 0, 80, 120, True, True),
    "31063": (7000, 5000, 1, 1, 1, 70, 120, False, True),
    "31064": (9000, 8100, 2, 5, 1, 100, 120, True, True),
    "31069": (10000, 7000, 0, 0, 0, 60, 120, False, False),
    "31072": (6000, 5400, 1, 3, 0, 90, 120, True, True),
    "31074": (5000, 4000, 1, 2, 1, 85, 120, True, True),
    "31075": (8000, 6400, 1, 2, 0, 96, 120, True, False),
}
BY_API = ("31051", "31060", "31063", "31064")  # the other four and the centre come through the sheet


class Client:
    def __init__(self, stack: Stack, token: str) -> None:
        self.base = stack.url + API
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.base + path, params=params, headers=self.headers, timeout=30)

    def put(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.put(self.base + path, json=body, headers=self.headers, timeout=30)

    def upload(self, path: str, data: bytes) -> requests.Response:
        return requests.post(self.base + path, data=data, headers={**self.headers, "Content-Type": XLSX}, timeout=60)

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, **params)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def clients(stack: Stack) -> dict[str, Client]:
    return {
        "station_31051": Client(stack, stack.token("finance", "31051")),
        "district_910": Client(stack, stack.token("finance", "910")),
        "district_899": Client(stack, stack.token("finance", "899")),
        "viewer": Client(stack, stack.token("viewer")),
    }


def facts(code: str) -> dict[str, Any]:
    return dict(zip(NAMES, STATIONS[code], strict=True))


def fill(book_bytes: bytes, values: dict[str, dict[str, Any]]) -> tuple[bytes, dict[str, int], dict[str, str]]:
    """The downloaded template with `values` written into the rows of their codes; (bytes, row of each
    code, column letter of each key)."""
    book = load_workbook(io.BytesIO(book_bytes))
    ws = book.active
    keys = {c.value: c.column_letter for c in ws[4] if c.value}
    rows = {ws[f"A{r}"].value: r for r in range(5, ws.max_row + 1)}
    for code, cells in values.items():
        for key, value in cells.items():
            if isinstance(value, bool):
                value = "có" if value else "không"
            ws[f"{keys[key]}{rows[code]}"] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), rows, keys


def keys_index(ws: Any, key: str) -> int:
    """The column (from 1) of a key in the template's key row."""
    return next(c.column for c in ws[4] if c.value == key)


def test_vinh_thuan_2024_measured_entered_by_api_and_sheet(clients: dict[str, Client]) -> None:
    station, district, viewer = clients["station_31051"], clients["district_910"], clients["viewer"]

    # A station officer enters their own station; a first figure is corrected, the old version stays visible.
    first = station.put(
        "/stations/31051/indicators/2024", {**facts("31051"), "population_managed": 10000, "source": "x"}
    )
    assert first.status_code == 200 and first.json()["created"] is True, first.text
    fixed = station.put("/stations/31051/indicators/2024", {"population_managed": 10800, "source": SOURCE})
    assert fixed.status_code == 200, fixed.text
    history = viewer.ok("/stations/31051/indicators/2024")
    assert [v["population_managed"] for v in history["history"]] == [10000, 10800]
    assert [v["version"] for v in history["history"]] == [1, 2]
    assert history["current"]["source"] == SOURCE and history["current"]["doctors"] == 3
    # Only inside one's unit, and only the writing roles.
    assert station.put("/stations/31060/indicators/2024", {**facts("31060"), "source": SOURCE}).status_code == 403
    assert clients["district_899"].put("/stations/31060/indicators/2024", {"source": SOURCE}).status_code == 403
    assert viewer.put("/stations/31060/indicators/2024", {"source": SOURCE}).status_code == 403
    refused = district.put("/stations/31060/indicators/2024", {"population": 10, "population_managed": 11})
    assert refused.status_code == 422
    assert {(e["field"], e["code"]) for e in refused.json()["errors"]} == {("source", "required")}
    for code in BY_API[1:]:
        r = district.put(f"/stations/{code}/indicators/2024", {**facts(code), "source": SOURCE})
        assert r.status_code == 200, r.text

    # The district officer downloads the template: 8 stations and the health centre, pre-filled.
    r = district.get("/indicators/template.xlsx", year=2024)
    assert r.status_code == 200 and r.headers["Content-Type"] == XLSX
    sheet = {code: dict(zip(NAMES, STATIONS[code], strict=True)) | {"source": SOURCE} for code in STATIONS}
    todo = {code: sheet[code] for code in STATIONS if code not in BY_API}
    todo["910"] = {"services_performed": 700, "services_in_list": 1000, "source": "Báo cáo TTYT huyện 2024"}
    bad = {**todo, "31069": {**todo["31069"], "doctor_days_per_week": 9}}
    data, rows, keys = fill(r.content, bad)
    assert set(rows) == {*STATIONS, "910"}
    book = load_workbook(io.BytesIO(r.content)).active
    assert book[f"{keys['population_managed']}{rows['31051']}"].value == 10800  # the latest version
    assert book[f"{keys['national_criteria_met']}{rows['31063']}"].value == "không"

    # One bad cell: the whole sheet is refused, the cell named, nothing written.
    r = district.upload("/indicators/import.xlsx", data)
    assert r.status_code == 422, r.text
    (problem,) = r.json()["errors"]
    assert (problem["row"], problem["column"], problem["code"]) == (
        rows["31069"],
        keys["doctor_days_per_week"],
        "out_of_range",
    )
    assert problem["message"].startswith(f"Dòng {rows['31069']}, cột {keys['doctor_days_per_week']} (")
    assert viewer.ok("/stations/31072/indicators/2024")["current"] is None
    assert viewer.ok("/stations/910/indicators/2024")["current"] is None
    # A station of another district added at the bottom is the gateway's refusal; the bad cell is still named
    # in the same answer (investment checks the other rows and keeps nothing).
    book = load_workbook(io.BytesIO(data))
    ws = book.active
    extra = ws.max_row + 1
    ws.cell(row=extra, column=1, value="30739")  # Giang Thành
    ws.cell(row=extra, column=keys_index(ws, "population"), value=5000)
    out = io.BytesIO()
    book.save(out)
    r = district.upload("/indicators/import.xlsx", out.getvalue())
    assert {(p["row"], p["code"]) for p in r.json()["errors"]} == {
        (rows["31069"], "out_of_range"),
        (extra, "unit_forbidden"),
    }, r.text
    assert viewer.ok("/stations/31072/indicators/2024")["current"] is None

    # The cell corrected in a fresh download: the sheet is taken whole.
    data, _rows, _keys = fill(district.get("/indicators/template.xlsx", year=2024).content, todo)
    r = district.upload("/indicators/import.xlsx?year=2024", data)
    assert r.status_code == 200, r.text
    assert (r.json()["written"], r.json()["unchanged"]) == (5, 4)
    assert viewer.ok("/stations/910/indicators/2024")["current"]["services_performed"] == 700

    # Every target of plan 34/KH-UBND for 2024, by hand:
    body = viewer.ok("/plans/2/targets", year=2024)
    assert body["partial"] is False
    t = {(i["item_code"], i["key"]): i for i in body["items"]}
    expected = {
        # 6 of 8 BHYT-eligible (31069, 31075 not) = 75.00: ≥ 90 by 2020 no, = 100 by 2025 no.
        ("I.2.a", "stations_bhyt_eligible"): ("75.00", 6, 8, False),
        ("I.2.b", "stations_bhyt_eligible"): ("75.00", 6, 8, False),
        # Services 691 of 8 × 120 = 960 → 71.98: ≥ 70 yes, ≥ 90 no.
        ("I.2.a", "stations_technical_services"): ("71.98", 691, 960, True),
        ("I.2.b", "stations_technical_services"): ("71.98", 691, 960, False),
        # National criteria 6 of 8 = 75.00 ("giữ vững 100%": no).
        ("I.2.a", "communes_national_health_criteria"): ("75.00", 6, 8, False),
        ("I.2.b", "communes_national_health_criteria"): ("75.00", 6, 8, False),
        # Health records 52 700 / 65 000 = 81.08: ≥ 80 yes, = 100 no.
        ("I.2.a", "population_health_managed"): ("81.08", 52700, 65000, True),
        ("I.2.b", "population_health_managed"): ("81.08", 52700, 65000, False),
        # A doctor ≥ 2 days a week: 6 of 8 (31063 one day, 31069 none) = 75.00: ≥ 80 no, ≥ 100 no.
        ("I.2.a", "stations_with_doctor"): ("75.00", 6, 8, False),
        ("I.2.b", "stations_with_doctor"): ("75.00", 6, 8, False),
        # Family medicine 5 of 10 doctors = 50.00: > 20 yes, > 50 no.
        ("I.2.a", "doctors_family_medicine_trained"): ("50.00", 5, 10, True),
        ("I.2.b", "doctors_family_medicine_trained"): ("50.00", 5, 10, False),
        # The health centre 700 of 1000 = 70.00: ≥ 70 yes, ≥ 90 no.
        ("I.2.a", "district_centres_technical_services"): ("70.00", 700, 1000, True),
        ("I.2.b", "district_centres_technical_services"): ("70.00", 700, 1000, False),
    }
    assert set(t) == set(expected)  # the district plan states its targets in I.2.a and I.2.b only
    for key, (actual, num, den, met) in expected.items():
        row = t[key]
        assert (row["actual"], row["numerator"], row["denominator"], row["met"]) == (actual, num, den, met), key
        assert row["level"] == "district" and row["basis"]
    assert [m["code"] for m in t[("I.2.a", "stations_with_doctor")]["misses"]] == ["31063", "31069"]
    assert [m["code"] for m in t[("I.2.a", "stations_technical_services")]["misses"]] == ["31060", "31063", "31069"]
    communes = {u["unit"]: u for u in t[("I.2.a", "population_health_managed")]["by_unit"]}
    assert communes["31069"]["actual_value"] == "70.00" and communes["31069"]["met"] is False  # 7000 / 10000

    # The province plan: the district's centre reaches 70 % (I.2.a: > 80 % of centres) but not 90 %.
    p = {(i["item_code"], i["key"]): i for i in viewer.ok("/plans/1/targets", year=2024, unit="910")["items"]}
    assert p[("I.2.a", "district_centres_technical_services_share")]["actual"] == "100.00"
    assert p[("I.2.b", "district_centres_technical_services_share")]["met"] is False
    # At province level the district appears as one row of the drill-down.
    whole = {(i["item_code"], i["key"]): i for i in viewer.ok("/plans/1/targets", year=2024)["items"]}
    doctor = whole[("I.2.a", "stations_with_doctor")]
    assert doctor["level"] == "province" and doctor["reported"] == 8
    assert {u["unit"]: u["actual_value"] for u in doctor["by_unit"]}["910"] == "75.00"


def test_after_the_merger_the_three_successors(clients: dict[str, Client]) -> None:
    district, viewer = clients["district_910"], clients["viewer"]
    successors = {
        "31051": {"population": 25000, "population_managed": 22500, "doctors": 2, "doctor_days_per_week": 5},
        "31064": {"population": 24000, "population_managed": 21600, "doctors": 2, "doctor_days_per_week": 5},
        "31069": {"population": 16000, "population_managed": 12800, "doctors": 1, "doctor_days_per_week": 1},
    }
    for code, values in successors.items():
        r = district.put(f"/stations/{code}/indicators/2025", {**values, "source": "Báo cáo năm 2025"})
        assert r.status_code == 200 and r.json()["valid_from"] == "2025-07-01", r.text
    t = {(i["item_code"], i["key"]): i for i in viewer.ok("/plans/2/targets", year=2025)["items"]}
    # 56 900 / 65 000 = 87.54; doctors ≥ 2 days: 2 of the 3 communes in force on 31/12/2025 = 66.67.
    records = t[("I.2.b", "population_health_managed")]
    assert (records["actual"], records["numerator"], records["denominator"], records["met"]) == (
        "87.54",
        56900,
        65000,
        False,
    )
    doctor = t[("I.2.b", "stations_with_doctor")]
    assert (doctor["actual"], doctor["numerator"], doctor["denominator"]) == ("66.67", 2, 3)
    # The eight 2019 stations' 2024 facts are still read as they were.
    assert viewer.ok("/stations/31064/indicators/2024")["current"]["population"] == 9000


def test_numbers_written_with_a_point_are_read_exactly(clients: dict[str, Client]) -> None:
    """A program writes 10800.0 for a whole count and 8.5 for a score: the gateway reads them as exact decimals
    (api/common.py), and the investment service takes them as it takes 10800 and "8,5"; 10800.5 people is no
    count."""
    station, viewer = clients["station_31051"], clients["viewer"]
    body = {"population_managed": 10800.0, "criteria_scores": {"TC1": 10, "TC2": 8.5}, "source": SOURCE}
    r = station.put("/stations/31051/indicators/2022", body)
    assert r.status_code == 200, r.text
    current = viewer.ok("/stations/31051/indicators/2022")["current"]
    assert current["population_managed"] == 10800 and current["criteria_scores"] == {"TC1": 10, "TC2": 8.5}
    refused = station.put("/stations/31051/indicators/2022", {**body, "population_managed": 10800.5})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "population_managed", refused.text
