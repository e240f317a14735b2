"""The allocations list as Excel (`GET /api/v1/allocations.xlsx`) against a stand-in finance on the real broker:
it reads every page of the list, says in its title what was asked, and refuses, by name, a list too long for one
file."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from services.gateway.application.workbooks import MAX_LISTED
from tests.integration.gateway.fake_services import FakeService, running

PLANS = [{"id": 1, "number": "158/KH-UBND", "unit": "91"}]
SOURCES = [{"code": "provincial_budget", "name": "Ngân sách tỉnh", "plans": [1]}]


def allocation(i: int) -> dict[str, Any]:
    return {"id": i, "plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2024,
            "recipient_unit": "910", "kind": "budget", "amount": 1000 + i, "decision_no": "1/QĐ",
            "decision_date": "2024-01-15", "parent_allocation_id": None, "note": None, "adjusted": 0,
            "allocated": 1000 + i, "sub_allocated": 0, "disbursed": 0, "remaining": 1000 + i}  # fmt: skip


def finance(amqp_uri: str, total: int) -> FakeService:
    def list_allocations(_filters: dict, page: int, per_page: int) -> dict[str, Any]:
        first = (page - 1) * per_page + 1
        items = [allocation(i) for i in range(first, min(first + per_page, total + 1))]
        return {"items": items, "total": total, "page": page, "per_page": per_page}

    handlers = {"list_allocations": list_allocations, "list_plans": lambda: PLANS, "list_sources": lambda: SOURCES}
    return FakeService(amqp_uri, "finance", handlers)


def test_every_page_of_the_list_is_in_the_file(gw, gw_amqp):
    service = finance(gw_amqp, 1203)
    with running(service):
        r = gw.client.get("/api/v1/allocations.xlsx?year=2024", headers=gw.headers("viewer"))
    assert r.status_code == 200, r.get_data(as_text=True)
    rows = list(load_workbook(io.BytesIO(r.data))["Phan bo"].iter_rows(min_row=4, values_only=True))
    assert [row[0] for row in rows] == list(range(1, 1204))
    assert [c[1][1] for c in service.calls if c[0] == "list_allocations"] == [1, 2, 3]  # 500 a page


def test_a_list_too_long_for_one_file_is_refused_by_name(gw, gw_amqp):
    service = finance(gw_amqp, MAX_LISTED + 1)
    with running(service):
        r = gw.client.get("/api/v1/allocations.xlsx", headers=gw.headers("viewer"))
    assert r.status_code == 422 and r.json["errors"][0]["code"] == "too_many_rows"
    assert [c[0] for c in service.calls] == ["list_allocations"]  # refused at the first page


def test_the_title_says_the_filters_without_what_a_sheet_cannot_hold(gw, gw_amqp):
    # A filter typed with control characters (found by the API fuzzer) once made the title unwritable: a 500.
    service = finance(gw_amqp, 2)
    with running(service):
        r = gw.client.get("/api/v1/allocations.xlsx?source=ng%06u%C2%92n&year_end_due=true&level=district",
                          headers=gw.headers("viewer"))  # fmt: skip
    assert r.status_code == 200, r.get_data(as_text=True)
    title = load_workbook(io.BytesIO(r.data))["Phan bo"]["A1"].value
    assert title == ("DANH SÁCH PHÂN BỔ KINH PHÍ — ngu\x92n, nhận ở cấp huyện, năm đã qua, còn tiền chưa chuyển "
                     "nguồn hoặc quyết toán: 2 phân bổ")  # fmt: skip
    [asked] = [c[1][0] for c in service.calls if c[0] == "list_allocations"]
    assert asked == {"source": "ng\x06u\x92n", "year_end_due": True, "level": "district"}
