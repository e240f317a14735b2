"""BHYT capitation writes (definitions in docs/domain.md): the fund, advances, settlements and the quarter's
steps (report, result, payment). Each names a facility the caller must see (facilities.require_facility) and is
recorded by the finance service. The API's capitation endpoints and the capitation pages call these; the reads
both faces (and the reconciliation workbook) show are gathered here too: a facility's year at a glance and the
reconciliation with the quarter's dated steps."""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import Schema

from services.common.contracts.finance import (
    AdvanceCommandV1,
    CapitationFundCommandV1,
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
    SettlementCommandV1,
)
from services.gateway.application.facilities import require_facility, scoped_facilities
from services.gateway.application.remote import clients, rpc
from services.gateway.errors import Unavailable

STEP_NAMES = {
    "report": "Cơ sở gửi báo cáo quyết toán quý (trong 15 ngày đầu quý sau)",
    "advance": "BHXH tạm ứng 80% chi phí trong báo cáo (trong 5 ngày làm việc)",
    "result": "BHXH thông báo kết quả giám định (30 ngày; quý 4 từ 01/7/2025: 60 ngày)",
    "payment": "Thanh toán phần còn lại, hoặc thu hồi / bù trừ tạm ứng thừa (trong 10 ngày)",
}


ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}  # quarters as the pages write them (Quý III/2024)


def step_label(name: str, step: dict[str, Any]) -> str:
    """A settlement step as people read it: "Tạm ứng quý III/2024 …" for an advance (it names its quarter), the
    step's rule otherwise."""
    if name == "advance" and step.get("period"):
        year, q = str(step["period"]).split("-Q")
        return f"Tạm ứng quý {ROMAN.get(q, q)}/{year} (80% báo cáo quý trước, 5 ngày làm việc)"
    return STEP_NAMES.get(name, name)


def step_state(step: dict[str, Any]) -> str:
    """The state people read: "Quá hạn" (not done, past due today), "Trễ hạn" (done after its due date),
    "Đúng hạn", or "" (not yet due)."""
    if step.get("overdue"):
        return "Quá hạn"
    if step.get("late"):
        return "Trễ hạn"
    return "Đúng hạn" if step.get("date") else ""


def _record(method: str, schema: type[Schema], cmd: dict[str, Any], *extra: Any) -> dict[str, Any]:
    require_facility(cmd["facility_code"])
    return rpc("finance", method, schema().dump(cmd), *extra)


def set_fund(cmd: dict[str, Any]) -> dict[str, Any]:
    """A facility's fund for a year or a quarter (`cmd` loaded by CapitationFundCommandV1)."""
    return _record("set_capitation_fund", CapitationFundCommandV1, cmd)


def pay_advance(cmd: dict[str, Any]) -> dict[str, Any]:
    """An advance (tạm ứng) to a facility for a quarter (`cmd` loaded by AdvanceCommandV1)."""
    return _record("pay_advance", AdvanceCommandV1, cmd)


def settle(cmd: dict[str, Any]) -> dict[str, Any]:
    """A year's settlement or a quarter's provisional one (`cmd` loaded by SettlementCommandV1)."""
    return _record("settle_capitation", SettlementCommandV1, cmd)


def record_report(cmd: dict[str, Any]) -> dict[str, Any]:
    """BHXH received a facility's quarterly report (`cmd` loaded by QuarterlyReportCommandV1); who recorded it is
    kept with it."""
    return _record("record_quarterly_report", QuarterlyReportCommandV1, cmd, g.principal.name)


def record_result(cmd: dict[str, Any]) -> dict[str, Any]:
    """BHXH's assessed result of the quarter (`cmd` loaded by QuarterlyResultCommandV1)."""
    return _record("record_quarterly_result", QuarterlyResultCommandV1, cmd)


def record_payment(cmd: dict[str, Any]) -> dict[str, Any]:
    """A payment, refund or offset of the quarter (`cmd` loaded by QuarterlyPaymentCommandV1)."""
    return _record("record_quarterly_payment", QuarterlyPaymentCommandV1, cmd)


# --------------------------------------------------------------------------- reads


def reconciliation(facility: str | None, period: str) -> dict[str, Any]:
    """Claims' reconciliation of a facility-quarter (every facility in scope when None; the caller has checked
    `facility`), and beside the contract's fields the quarter's settlement steps from finance: `settlement`
    (one facility) and `overdue` (each step past its due date today, with that date). Finance away: the
    claims' answer still stands, with `settlement_unavailable`."""
    scope = scoped_facilities()
    answer: dict[str, Any] = rpc("claims", "reconciliation", facility, period, scope)
    try:
        if facility:
            names = [facility]
        else:
            in_play = rpc("finance", "settlement_facilities", period)  # reported, or contracted and awaited
            names = [f for f in in_play if scope is None or f in scope]
        schedules = rpc("finance", "quarter_schedules", period, names)
    except Unavailable:
        answer["settlement_unavailable"] = True
        return answer
    if facility:
        answer["settlement"] = schedules[0]
    answer["overdue"] = _overdue(schedules)
    return answer


def _overdue(schedules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each step of finance's quarter schedules past its due date today, with its facility."""
    return [
        {"facility_code": s["facility_code"], "step": step, **s["steps"][step]}
        for s in schedules
        for step in s["overdue"]
    ]


def overdue_steps() -> list[dict[str, Any]]:
    """Every settlement step past its due date today of the facilities in scope (finance's `overdue_steps`, the
    list the `ytcs_settlement_steps_overdue` gauge counts), newest quarter first, each with its `quarter` (an
    advance's own `period` is the quarter it is paid for)."""
    return rpc("finance", "overdue_steps", scoped_facilities())


def quarters_of(year: int) -> list[str]:
    return [f"{year}-Q{n}" for n in range(1, 5)]


def year_glance(facility: str, year: int) -> dict[str, Any]:
    """A facility's capitation year at a glance, from finance's own answers (asked at once): the year's fund with
    its inputs and document, and per quarter its provisional fund, report, the advance the quarter gets (given by
    the previous quarter's report: due, suggested, paid), result, payment, spend; and every step overdue today.

    The advance of a quarter is dated by the previous quarter's report, so the fourth quarter of the year before
    is asked too. The year's final settlement in force, and the ones it superseded, are finance's
    `capitation_year`."""
    require_facility(facility, "facility")
    quarters = quarters_of(year)
    before = f"{year - 1}-Q4"
    calls: dict[str, Any] = {p: ("finance", "capitation_status", (facility, p), {}) for p in (before, *quarters)}
    calls |= {"suggestion " + p: ("finance", "advance_suggestion", (facility, p), {}) for p in quarters}
    calls["year"] = ("finance", "capitation_year", (facility, year), {})
    got = clients().fan_out(calls, raise_domain=True)
    rows: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    previous = got[before]["schedule"]
    for p in quarters:
        status, schedule, suggestion = got[p], got[p]["schedule"], got["suggestion " + p]
        given = previous["steps"].get("advance")  # this quarter's advance, given by the previous report
        rows.append(
            {
                "period": p,
                "fund": status["fund_record"],
                "spend": status["spend"],
                "balance": status["balance"],
                "report": schedule["report"],
                "result": schedule["result"],
                "steps": schedule["steps"],
                "advance": {
                    "due": given["due"] if given else suggestion["due"],
                    "suggested": given["amount"] if given else suggestion["suggested"],
                    "basis": suggestion["basis"],
                    "paid": status["advanced"],
                    "records": status["advances"],
                    "date": given["date"] if given else None,
                    "late": bool(given and given["late"]),
                    "overdue": bool(given and given["overdue"]),
                },
            }
        )
        if given and given["overdue"]:
            overdue.append({"period": p, "step": "advance", **given})
        overdue += [{"period": p, "step": s, **schedule["steps"][s]} for s in schedule["overdue"] if s != "advance"]
        previous = schedule
    after = previous["steps"].get("advance")  # the next year's first advance, given by this year's Q4 report
    if after and after["overdue"]:
        overdue.append({"step": "advance", **after})
    return {
        "facility_code": facility,
        "year": year,
        "year_fund": got[quarters[0]]["year_fund"],
        "settlement": got["year"]["settlement"],
        "settlement_history": got["year"]["settlement_history"],
        "quarters": rows,
        "overdue": overdue,
    }
