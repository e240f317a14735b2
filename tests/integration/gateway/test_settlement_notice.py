"""The home page's notice of capitation settlement steps past due (web/finance_pages._settlement_overdue,
application/capitation.overdue_steps) against a stand-in finance on the real broker: BHXH and admins are told,
finance is asked for the person's facilities only, and finance not answering leaves the notice out
(fake_services.py)."""

from __future__ import annotations

from typing import Any

from flask import g

from services.gateway.accounts import Principal
from services.gateway.web.finance_pages import _settlement_overdue
from tests.integration.gateway.fake_services import FakeService, running

STEP = {"due": "2026-10-20", "date": None, "late": False, "overdue": True}
STEPS = [
    {"facility_code": "91003", "quarter": "2026-Q3", "step": "advance", "period": "2026-Q4", **STEP},
    {"facility_code": "91003", "quarter": "2026-Q3", "step": "result", **STEP},
    {"facility_code": "91301", "quarter": "2025-Q4", "step": "payment", **STEP},
]


def notice(gw: Any, role: str, unit: str | None) -> Any:
    with gw.app.test_request_context("/"):
        g.principal = Principal(name="x", role=role, unit=unit, kind="user", user_id=1, ident="user#1")
        return _settlement_overdue()


def answering(gw_amqp: str) -> FakeService:
    def overdue_steps(facilities: list[str] | None) -> list[dict[str, Any]]:
        return [s for s in STEPS if facilities is None or s["facility_code"] in facilities]

    return FakeService(gw_amqp, "finance", {"overdue_steps": overdue_steps})


def test_bhxh_is_told_the_steps_past_due_and_others_are_not_asked(gw, gw_amqp):
    finance = answering(gw_amqp)
    with running(finance):
        assert notice(gw, "bhxh", None) == STEPS
        assert notice(gw, "admin", None) == STEPS
        assert notice(gw, "finance", None) is None  # settles nothing with BHXH: not asked
        assert notice(gw, "viewer", None) is None
    assert [c[1] for c in finance.calls] == [[None], [None]]


def test_finance_is_asked_for_the_persons_facilities_and_its_absence_leaves_the_notice_out(gw, gw_amqp):
    r = gw.client.post("/api/v1/facilities", json={"code": "91003", "name": "TTYT Vĩnh Thuận", "unit": "31064"},
                       headers=gw.headers("admin"))  # fmt: skip
    assert r.status_code == 201, r.get_data(as_text=True)
    finance = answering(gw_amqp)
    with running(finance):
        assert [s["step"] for s in notice(gw, "bhxh", "31064")] == ["advance", "result"]
        assert notice(gw, "bhxh", "30742") is None  # no facility of Phường Rạch Giá has anything past due
    assert [c[1] for c in finance.calls] == [[["91003"]], [[]]]
    with running(FakeService(gw_amqp, "finance", {})):  # no such method: answered as unavailable
        assert notice(gw, "admin", None) is None
