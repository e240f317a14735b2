"""The home page's notice of capitation settlement steps past due (web/finance_pages._settlement_overdue,
application/capitation.overdue_steps) against a stand-in finance on the real broker: BHXH and admins are told,
the last four quarters are asked, facilities outside the person's scope are left out, and finance not answering
leaves the notice out (fake_services.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g

from services.common import clock
from services.gateway.accounts import Principal
from services.gateway.web.finance_pages import _settlement_overdue
from tests.integration.gateway.fake_services import FakeService, running

TODAY = date(2026, 12, 7)  # Q4 2026: the quarters asked are 2026-Q3 back to 2025-Q4
STEP = {"due": "2026-10-20", "date": None, "late": False, "overdue": True}


def schedule(facility: str, overdue: list[str]) -> dict[str, Any]:
    return {"facility_code": facility, "steps": {s: STEP | {"period": "2026-Q4"} for s in overdue}, "overdue": overdue}


def notice(gw: Any, role: str, unit: str | None, monkeypatch: Any) -> Any:
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    with gw.app.test_request_context("/"):
        g.principal = Principal(name="x", role=role, unit=unit, kind="user", user_id=1, ident="user#1")
        return _settlement_overdue()


def test_bhxh_is_told_every_step_past_due_of_the_last_four_quarters(gw, gw_amqp, monkeypatch):
    reported = {"2026-Q3": ["91003", "91301"], "2026-Q2": ["91003"], "2026-Q1": [], "2025-Q4": ["91301"]}
    schedules = {
        "2026-Q3": [schedule("91003", ["advance", "result"]), schedule("91301", [])],
        "2026-Q2": [schedule("91003", [])],
        "2025-Q4": [schedule("91301", ["payment"])],
    }
    finance = FakeService(gw_amqp, "finance", {
        "reported_facilities": lambda period: reported[period],
        "quarter_schedules": lambda period, names: [s for s in schedules[period] if s["facility_code"] in names],
    })  # fmt: skip
    with running(finance):
        steps = notice(gw, "bhxh", None, monkeypatch)
        assert [(s["quarter"], s["facility_code"], s["step"]) for s in steps] == [
            ("2026-Q3", "91003", "advance"),
            ("2026-Q3", "91003", "result"),
            ("2025-Q4", "91301", "payment"),
        ]
        assert (steps[0]["due"], steps[0]["period"]) == ("2026-10-20", "2026-Q4")  # an advance's own quarter
        assert notice(gw, "finance", None, monkeypatch) is None  # settles nothing with BHXH: not asked
    asked = sorted(c[1][0] for c in finance.calls if c[0] == "reported_facilities")
    assert asked == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert [c[1] for c in finance.calls if c[0] == "quarter_schedules"] == [
        ["2026-Q3", ["91003", "91301"]], ["2026-Q2", ["91003"]], ["2025-Q4", ["91301"]]]  # fmt: skip


def test_a_facility_outside_the_scope_is_left_out_and_finance_away_leaves_the_notice_out(gw, gw_amqp, monkeypatch):
    r = gw.client.post("/api/v1/facilities", json={"code": "91003", "name": "TTYT Vĩnh Thuận", "unit": "31064"},
                       headers=gw.headers("admin"))  # fmt: skip
    assert r.status_code == 201, r.get_data(as_text=True)
    finance = FakeService(gw_amqp, "finance", {
        "reported_facilities": lambda period: ["91003", "91301"] if period == "2026-Q3" else [],
        "quarter_schedules": lambda period, names: [schedule(f, ["result"]) for f in names],
    })  # fmt: skip
    with running(finance):
        steps = notice(gw, "bhxh", "31064", monkeypatch)
    assert [s["facility_code"] for s in steps] == ["91003"]  # 91301 is no facility of Xã Vĩnh Bình
    with running(FakeService(gw_amqp, "finance", {})):  # no such methods: answered as unavailable
        assert notice(gw, "admin", None, monkeypatch) is None
