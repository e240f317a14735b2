"""The gateway's application layer without a broker or a database: the RPC calls are recorded by a fake, the
caller is a Principal set on `g`. What the API and the pages both rely on: checks before writes, in order, and
the one mapping of failures (errors.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, g
from marshmallow import Schema, ValidationError, fields
from nameko.exceptions import MethodNotFound, RemoteError, RpcTimeout, UnknownService

from services.common.db import make_engine
from services.common.errors import Conflict, DomainError, Malformed, NotFound
from services.gateway import errors
from services.gateway.accounts import Principal
from services.gateway.application import access, capitation, finance, funding, investment
from services.gateway.guards import AllocationGuards

DISTRICT, COMMUNE, OTHER_DISTRICT = "910", "31051", "899"


class FakeRpc:
    """Answers RPCs from a table by (service, method); records every call in order."""

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []

    def __call__(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((service, method, args))
        answer = self.answers.get((service, method), {"id": 7})
        if isinstance(answer, Exception):
            raise answer
        return answer(*args) if callable(answer) else answer

    def methods(self) -> list[str]:
        return [f"{s}.{m}" for s, m, _ in self.calls]


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    flask_app = Flask(__name__)
    # The one piece of the app's state these use besides the RPCs: real guards (a temporary SQLite gateway).
    guards = AllocationGuards(make_engine(f"sqlite:///{tmp_path / 'gateway.db'}"), tmp_path / "locks", 0.3)
    flask_app.extensions["ytcs"] = SimpleNamespace(guards=guards)
    return flask_app


def as_(app: Flask, unit: str | None, role: str = "finance") -> Any:
    ctx = app.test_request_context("/")
    ctx.push()
    g.principal = Principal(name="officer", role=role, unit=unit, kind="token")
    return ctx


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRpc:
    rpc = FakeRpc({("investment", "linked_capital"): {"5": 300, "9": 300}})
    for module in (access, finance, investment, capitation, funding):
        monkeypatch.setattr(module, "rpc", rpc)
    return rpc


def allocation_cmd(**kw: Any) -> dict[str, Any]:
    return {"recipient_unit": COMMUNE, "parent_allocation_id": None, "plan_id": 2, "item_code": "II.5", **kw}


# --------------------------------------------------------------------------- allocation writes


def test_an_allocation_outside_the_callers_unit_is_refused_before_the_service_is_asked(app, fake, monkeypatch):
    monkeypatch.setattr(finance.AllocationCommandIn, "dump", lambda self, cmd: cmd)
    ctx = as_(app, OTHER_DISTRICT)
    try:
        with pytest.raises(DomainError) as refused:
            finance.create_allocation(allocation_cmd())
    finally:
        ctx.pop()
    assert refused.value.status == 403 and refused.value.errors[0]["field"] == "recipient_unit"
    assert fake.calls == []


def test_an_unknown_recipient_unit_is_refused_by_the_one_unit_rule(app, fake, monkeypatch):
    ctx = as_(app, None)
    try:
        with pytest.raises(DomainError) as refused:
            finance.create_allocation(allocation_cmd(recipient_unit="99999"))
    finally:
        ctx.pop()
    assert refused.value.errors[0]["field"] == "recipient_unit"
    assert fake.calls == []


def test_a_scoped_sub_allocation_checks_its_parent_and_an_unknown_parent_is_left_to_the_service(app, fake, monkeypatch):
    monkeypatch.setattr(finance.AllocationCommandIn, "dump", lambda self, cmd: cmd)
    fake.answers[("finance", "get_allocation")] = NotFound("no such allocation")
    ctx = as_(app, DISTRICT)
    try:
        out = finance.create_allocation(allocation_cmd(parent_allocation_id=5))
    finally:
        ctx.pop()
    assert out == {"id": 7}
    assert fake.methods() == ["finance.get_allocation", "investment.linked_capital", "finance.create_allocation"]

    fake.calls.clear()
    fake.answers[("finance", "get_allocation")] = {"recipient_unit": OTHER_DISTRICT}
    ctx = as_(app, DISTRICT)
    try:
        with pytest.raises(DomainError) as refused:
            finance.create_allocation(allocation_cmd(parent_allocation_id=5))
    finally:
        ctx.pop()
    assert refused.value.errors[0]["field"] == "parent_allocation_id"
    assert fake.methods() == ["finance.get_allocation"]


def test_an_unscoped_caller_writes_without_looking_the_parent_up(app, fake, monkeypatch):
    monkeypatch.setattr(finance.AllocationCommandIn, "dump", lambda self, cmd: cmd)
    ctx = as_(app, None)
    try:
        finance.create_allocation(allocation_cmd(parent_allocation_id=5))
        finance.create_allocation(allocation_cmd())
    finally:
        ctx.pop()
    # A sub-allocation carries the capital linked to its parent (finance keeps it covered); a root has none.
    assert fake.methods() == ["investment.linked_capital", "finance.create_allocation", "finance.create_allocation"]
    assert fake.calls[0][2] == ([5],)
    assert fake.calls[1][2][0]["parent_linked_capital"] == 300
    assert "parent_linked_capital" not in fake.calls[2][2][0]


def test_an_adjustment_carries_the_capital_linked_to_the_allocation_whose_money_it_takes(app, fake, monkeypatch):
    fake.answers[("finance", "get_allocation")] = {"recipient_unit": COMMUNE, "parent_allocation_id": 5}
    ctx = as_(app, None)
    try:
        finance.adjust(9, {"amount": -40})  # down: allocation 9 keeps less
        finance.adjust(9, {"amount": 40})  # up: its parent 5 passes more down
        fake.answers[("finance", "get_allocation")] = {"recipient_unit": COMMUNE, "parent_allocation_id": None}
        fake.answers[("investment", "linked_capital")] = {"9": 300}
        finance.adjust(9, {"amount": 40})  # up, a root: new money, nobody's capital at stake
    finally:
        ctx.pop()
    sent = [args for s, m, args in fake.calls if m == "adjust"]
    asked = [args[0] for s, m, args in fake.calls if m == "linked_capital"]
    assert asked == [[9], [5]]
    assert (sent[0][1].get("linked_capital"), sent[0][1].get("parent_linked_capital")) == (300, None)
    assert (sent[1][1].get("linked_capital"), sent[1][1].get("parent_linked_capital")) == (None, 300)
    assert (sent[2][1].get("linked_capital"), sent[2][1].get("parent_linked_capital")) == (None, None)


def _guarded_elsewhere(app: Flask, *allocation_ids: int) -> tuple[bool, ...]:
    """Whether another gateway process would find each allocation's guard taken now."""
    mine = app.extensions["ytcs"].guards
    other = AllocationGuards(mine.engine, mine.lock_dir, 0.05)
    taken = []
    for allocation_id in allocation_ids:
        try:
            with other.hold([allocation_id]):
                taken.append(False)
        except DomainError:
            taken.append(True)
    return tuple(taken)


def test_a_command_needing_both_services_holds_the_allocations_guard_from_asking_to_recording(app, fake, monkeypatch):
    # Allocation 9 is a sub-allocation of 5; capital of project 11 is linked to 12.
    seen: list[tuple[str, tuple[bool, ...]]] = []

    def noting(name: str, answer: Any) -> Any:
        def answering(*args: Any) -> Any:
            seen.append((name, _guarded_elsewhere(app, 9, 5, 12)))
            return answer
        return answering

    fake.answers[("investment", "linked_capital")] = lambda ids: (
        seen.append(("asked", _guarded_elsewhere(app, 9, 5, 12))) or {str(ids[0]): 300}
    )
    fake.answers[("finance", "get_allocation")] = {"recipient_unit": COMMUNE, "parent_allocation_id": 5}
    fake.answers[("finance", "adjust")] = noting("adjusted", {"id": 1})
    fake.answers[("finance", "create_allocation")] = noting("allocated", {"id": 1})
    fake.answers[("investment", "assign_capital")] = noting("linked", {"id": 1})
    monkeypatch.setattr(investment, "check_capital_link", noting("room asked", 1000))
    monkeypatch.setattr(investment.contract.CapitalCommandIn, "dump", lambda self, body: body)
    ctx = as_(app, None)
    try:
        finance.adjust(9, {"amount": -40})
        finance.adjust(9, {"amount": 40})
        finance.create_allocation(allocation_cmd(parent_allocation_id=5))
        investment.project_command(11, "assign_capital", {"amount": 5, "funded_by_allocation": 12})
    finally:
        ctx.pop()
    down, up, sub, link = (True, False, False), (False, True, False), (False, True, False), (False, False, True)
    assert seen == [
        ("asked", down), ("adjusted", down),  # a reduction: the allocation itself
        ("asked", up), ("adjusted", up),  # a sub-allocation's increase: its parent, which pays it
        ("asked", sub), ("allocated", sub),  # a sub-allocation: its parent
        ("room asked", link), ("linked", link),  # capital linked to an allocation: that allocation
    ]
    assert _guarded_elsewhere(app, 9, 5, 12) == (False, False, False)  # all released


def test_a_scoped_callers_increase_reads_the_allocation_once_for_its_unit_and_its_parent(app, fake):
    fake.answers[("finance", "get_allocation")] = {"recipient_unit": COMMUNE, "parent_allocation_id": 5}
    ctx = as_(app, DISTRICT)
    try:
        finance.adjust(9, {"amount": 40})
    finally:
        ctx.pop()
    assert fake.methods() == ["finance.get_allocation", "investment.linked_capital", "finance.adjust"]
    assert fake.calls[-1][2][1]["parent_linked_capital"] == 300


def test_a_disbursement_checks_the_allocations_recipient_for_a_scoped_caller(app, fake, monkeypatch):
    monkeypatch.setattr(finance.DisbursementCommandV1, "dump", lambda self, cmd: cmd)
    fake.answers[("finance", "get_allocation")] = {"recipient_unit": OTHER_DISTRICT}
    ctx = as_(app, DISTRICT)
    try:
        with pytest.raises(DomainError) as refused:
            finance.disburse(3, {"amount": 1})
    finally:
        ctx.pop()
    assert refused.value.status == 403 and refused.value.errors[0]["field"] == "id"
    assert fake.methods() == ["finance.get_allocation"]


# --------------------------------------------------------------------------- projects and capitation


def test_a_project_command_asks_the_projects_station_then_records_with_the_actor(app, fake, monkeypatch):
    monkeypatch.setattr(investment.PROJECT_COMMANDS["assign_capital"], "dump", lambda self, body: body)
    fake.answers[("investment", "project_scope")] = {"station_code": COMMUNE}
    ctx = as_(app, DISTRICT)
    try:
        investment.project_command(11, "assign_capital", {"amount": 5})
    finally:
        ctx.pop()
    assert fake.calls == [
        ("investment", "project_scope", (11,)),
        # Capital naming no allocation: no room asked of finance, none sent.
        ("investment", "assign_capital", (11, {"amount": 5, "allocation_room": None}, "officer")),
    ]


def test_every_project_command_has_its_contract_schema():
    assert set(investment.PROJECT_COMMANDS) == {
        "assign_capital",
        "disburse",
        "revise_estimate",
        "change_status",
        "complete_project",
    }


def test_a_capitation_step_checks_the_facility_first(app, fake, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(capitation, "require_facility", lambda code: seen.append(code))
    monkeypatch.setattr(capitation.QuarterlyReportCommandV1, "dump", lambda self, cmd: cmd)
    ctx = as_(app, None, role="bhxh")
    try:
        capitation.record_report({"facility_code": "91001", "period": "2024-Q2"})
    finally:
        ctx.pop()
    assert seen == ["91001"]
    assert fake.calls == [
        ("finance", "record_quarterly_report", ({"facility_code": "91001", "period": "2024-Q2"}, "officer"))
    ]


# --------------------------------------------------------------------------- access checks


@pytest.mark.parametrize(
    ("unit", "year", "code", "status"),
    [
        (DISTRICT, 1999, "out_of_range", 422),
        ("98765", 2024, "not_found", 404),
        (OTHER_DISTRICT, 2024, "unit_forbidden", 403),
    ],
)
def test_a_units_report_sections_are_in_range_known_and_in_scope(app, unit, year, code, status):
    ctx = as_(app, DISTRICT)
    try:
        with pytest.raises(DomainError) as refused:
            access.unit_in_scope(unit, year)
    finally:
        ctx.pop()
    assert (refused.value.errors[0]["code"], refused.value.status) == (code, status)


def test_the_investment_scope_keeps_the_province_where_scoped_unit_gives_none(app):
    ctx = as_(app, "91")
    try:
        assert access.scope_unit(None) == "91"
        assert access.scoped_unit(None) is None
    finally:
        ctx.pop()


# --------------------------------------------------------------------------- funding joins


def test_the_funding_parts_name_a_slow_service_and_a_refused_money_part_is_raised(app, monkeypatch):
    class Clients:
        def __init__(self, answers: dict[str, Any]) -> None:
            self.answers = answers

        def fan_out(self, calls: dict[str, Any], timeout: float) -> dict[str, Any]:
            return {k: self.answers[k] for k in calls}

    slow = errors.Unavailable("claims", "dịch vụ không trả lời kịp", "timeout")
    monkeypatch.setattr(funding, "clients", lambda: Clients({"finance": {}, "investment": {}, "claims": slow}))
    calls = {p: (p, "x", (), {}) for p in ("finance", "investment", "claims")}
    _results, state = funding.gather(calls, "test")
    assert state == {
        "parts": {"finance": "ok", "investment": "ok", "claims": "unavailable"},
        "partial": True,
        "missing": [{"part": "claims", "kind": "timeout", "reason": "dịch vụ không trả lời kịp"}],
    }
    refused = DomainError.one("unknown_unit", "Không có đơn vị.", "unit")
    monkeypatch.setattr(funding, "clients", lambda: Clients({"finance": refused, "investment": {}, "claims": {}}))
    with pytest.raises(DomainError):
        funding.gather(calls, "test")


def test_an_unknown_plan_or_item_is_a_404():
    with pytest.raises(NotFound):
        funding.get_plan(10**6)
    plan = funding.get_plan(1)
    with pytest.raises(NotFound):
        funding.get_item(plan, "IX.99")


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (RpcTimeout(1.0), "timeout"),
        (UnknownService("finance"), "unknown_service"),
        (MethodNotFound("nope"), "method_not_found"),
        (RemoteError("ValueError", "boom"), "error"),
        (ConnectionResetError(), "broker"),
    ],
)
def test_a_remote_failure_is_the_service_being_unavailable(raised, kind):
    found = errors.remote_failure("finance", "disburse", raised)
    assert isinstance(found, errors.Unavailable)
    assert (found.service, found.kind) == ("finance", kind)


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (DomainError.one("rule", "Quy tắc."), 422),
        (NotFound("Không có."), 404),
        (Conflict.one("moved", "Đã đổi."), 409),
        (Malformed.one("unreadable", "Không đọc được."), 400),
    ],
)
def test_a_refusal_crosses_as_itself_and_answers_its_own_status(refusal, status):
    assert errors.remote_failure("finance", "disburse", refusal) is refusal
    found = errors.failure(refusal)
    assert found is not None and found[1] == status and found[0] == refusal.errors


def test_an_unavailable_service_answers_503_with_retry_after_and_people_get_no_technical_reason():
    down = errors.Unavailable("investment", "dịch vụ không trả lời kịp", "timeout")
    for_api, for_page = errors.failure(down), errors.failure(down, for_page=True)
    assert for_api is not None and for_page is not None
    assert for_api[1:] == (503, {"Retry-After": "5"}) and for_page[1] == 503
    assert for_api[0][0]["service"] == "investment" and "không trả lời kịp" in for_api[0][0]["message"]
    assert "không trả lời kịp" not in for_page[0][0]["message"] and "đầu tư" in for_page[0][0]["message"]


def test_a_service_refusing_because_another_did_not_answer_is_503_with_retry_after():
    # finance's BoundedRpcProxy: claims did not answer in time, nothing was written, the person may send it again.
    refusal = DomainError([{"field": None, "code": "service_unavailable", "message": "…", "service": "claims"}], 503)
    assert errors.remote_failure("finance", "record_quarterly_report", refusal) is refusal
    assert errors.failure(refusal) == (refusal.errors, 503, {"Retry-After": "5"})


def test_a_validation_error_is_422_and_anything_else_is_not_a_failure_to_answer():
    found = errors.failure(ValidationError({"amount": ["Missing data for required field."]}))
    assert found is not None and found[1] == 422 and found[0][0]["field"] == "amount"
    assert errors.failure(RuntimeError("bug")) is None


def test_an_expired_login_answers_with_the_bearer_challenge():
    found = errors.failure(DomainError.one("unauthorized", "Cần đăng nhập.", None, 401))
    assert found is not None and found[2] == {"WWW-Authenticate": 'Bearer realm="ytcs"'}


# --------------------------------------------------------------------------- a page's form


def test_a_refused_form_shows_its_page_again_or_the_plainer_one(app):
    from services.gateway.web.common import show_refused, write_form

    refusal = DomainError.one("unit_forbidden", "Ngoài phạm vi.", "recipient_unit", 403)
    with app.test_request_context("/", method="POST", data={"amount": "5"}):
        g.principal = Principal(name="officer", role="finance", unit=DISTRICT, kind="token")
        g.audit_details = {}

        def unshowable(status: int, errs: list[dict[str, Any]], form: dict[str, str]) -> Any:
            raise NotFound("Không có.")

        shown = show_refused(refusal, unshowable, lambda status, errs, form: (status, errs[0]["label"], form))
        assert shown == (403, "Đơn vị nhận", {"amount": "5"})
        with pytest.raises(NotFound):
            show_refused(refusal, unshowable)

        class Amount(Schema):
            amount = fields.Integer(required=True)

        def record(cmd: dict[str, Any]) -> dict[str, Any]:
            return {"id": 9, **cmd}

        out = write_form(Amount(), record, lambda exc: ("refused", exc), lambda out: ("done", out))
        assert out == ("done", {"id": 9, "amount": 5}) and g.audit_details["result_id"] == 9

        def refuse(cmd: dict[str, Any]) -> dict[str, Any]:
            raise refusal

        refused = write_form(Amount(), refuse, lambda exc: exc, lambda out: out)
        assert refused is refusal
