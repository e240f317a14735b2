"""The home page's notice of the year end still to decide (web/finance_pages._year_end_due) against a stand-in
finance on the real broker: shown to those who record the year end when there is something to decide, and never a
reason for the page to fail when finance cannot answer (fake_services.py)."""

from __future__ import annotations

from typing import Any

from flask import g

from services.gateway.accounts import Principal
from services.gateway.web.finance_pages import _year_end_due
from tests.integration.gateway.fake_services import FakeService, running


def notice(gw: Any, role: str, unit: str | None) -> Any:
    with gw.app.test_request_context("/"):
        g.principal = Principal(name="x", role=role, unit=unit, kind="user", user_id=1, ident="user#1")
        return _year_end_due(unit)


def test_the_notice_is_asked_for_the_unit_and_shown_only_when_something_is_due(gw, gw_amqp):
    answers = iter([{"items": [], "total": 2, "remaining_total": 7}, {"items": [], "total": 0, "remaining_total": 0}])
    finance = FakeService(gw_amqp, "finance", {"list_allocations": lambda *_args: next(answers)})
    with running(finance):
        assert notice(gw, "finance", "30742") == {"items": [], "total": 2, "remaining_total": 7}
        assert notice(gw, "admin", None) is None  # nothing due: no notice
        assert notice(gw, "viewer", "30742") is None  # records nothing at the year end: not asked
    assert [c[1] for c in finance.calls] == [[{"year_end_due": True, "unit": "30742"}, 1, 1],
                                             [{"year_end_due": True}, 1, 1]]  # fmt: skip


def test_finance_not_answering_leaves_the_notice_out(gw, gw_amqp):
    finance = FakeService(gw_amqp, "finance", {})  # no list_allocations: MethodNotFound, answered as unavailable
    with running(finance):
        assert notice(gw, "finance", None) is None
