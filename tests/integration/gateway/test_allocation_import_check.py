"""The gateway's allocation import when finance cannot check the other rows (a finance replica older than
`check_allocation_import`, or one that fails): the sheet is refused for its own bad cells all the same, a 422,
never a 503, and nothing is imported. Stand-in finance on the real broker (fake_services.py)."""

from __future__ import annotations

from services.gateway.application import allocation_import
from tests.integration.gateway.fake_services import FakeService, running
from tests.support.sheets import write_rows

PLANS = [{"id": 1, "number": "158/KH-UBND", "unit": "91"}]
SOURCES = [{"code": "provincial_budget", "name": "Ngân sách tỉnh", "plans": [1]}]


def sheet() -> bytes:
    book = allocation_import.template_workbook(PLANS[0], [{"code": "II.5", "title": "II.5"}], SOURCES)
    row = {"item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2024, "recipient_unit": "910",
           "amount": 5_000_000, "decision_no": "1/QĐ", "decision_date": "15/01/2024"}  # fmt: skip
    return write_rows(book, "Phan bo", [row, {**row, "amount": "1,5"}])


def test_a_sheet_finance_cannot_check_is_refused_for_its_own_cells(gw, gw_amqp):
    def refuse_to_import(*_args):
        raise AssertionError("a sheet with a bad cell is never imported")

    finance = FakeService(
        gw_amqp,
        "finance",
        {"list_plans": lambda: PLANS, "list_sources": lambda: SOURCES, "import_allocations": refuse_to_import},
    )  # no check_allocation_import: MethodNotFound, which the gateway answers as unavailable
    with running(finance):
        r = gw.client.post(
            "/api/v1/allocations/import.xlsx",
            data=sheet(),
            headers=gw.headers("finance", **{"Content-Type": "application/octet-stream"}),
        )
    assert r.status_code == 422, r.get_data(as_text=True)
    assert [(e["row"], e["column"], e["code"]) for e in r.get_json()["errors"]] == [(6, "E", "invalid_amount")]
    assert [c[0] for c in finance.calls] == ["list_plans", "list_sources", "check_allocation_import"]
