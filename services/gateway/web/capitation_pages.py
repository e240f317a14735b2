"""The capitation pages (định suất, docs/finance.md §6).

- A facility's quarter (quyết toán quý): record that its settlement report was received, see the figures kept
  from the claims, the advance it gives and when it is due, record BHXH's result and the payment (or an excess
  advance's refund or offset), with every due date and what is overdue.
- A facility's year at a glance: the year's fund with its inputs and document (recorded here by finance
  officers), each quarter's report, advance (recorded here by BHXH), result and payment with their due dates,
  what is overdue today, and the yearly settlement with the stations' share and its decision (recorded here by
  BHXH; the one in force and those it superseded are shown from finance's capitation_year).

Every write is the API's: the same contract schema and application/capitation.py call as POST
/api/v1/capitation/funds, /advances, /settlements, /reports, /results and /payments, by the same roles."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import flash, g, redirect, request, url_for
from marshmallow import Schema, ValidationError, fields, validate

from services.common import clock
from services.common.contracts import claims as claims_contract
from services.common.contracts.finance import (
    AdvanceCommandV1,
    CapitationFundCommandV1,
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
    SettlementCommandV1,
)
from services.gateway.application import capitation, facilities
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.application.facilities import facility_name, require_facility
from services.gateway.application.remote import rpc
from services.gateway.web.bhxh_pages import PeriodText
from services.gateway.web.common import (
    BHXH_WRITERS,
    FINANCE_WRITERS,
    WRITE_ERRORS,
    audit_form,
    bp,
    form_data,
    page,
    page_args,
    render,
    show_refused,
    write_form,
)
from services.gateway.web.format import percent, vn_date, vnd
from services.gateway.web.format import period as period_text

STEP_NAMES = capitation.STEP_NAMES
PAYMENT_KINDS = {"payment": "BHXH thanh toán", "refund": "Cơ sở hoàn trả tạm ứng thừa", "offset": "Bù trừ vào quý sau"}


class QuarterPageQuery(Schema):
    facility = fields.String(validate=claims_contract.FACILITY, metadata={"example": "91060"})
    period = PeriodText(metadata={"example": "2024-Q2"})


def _quarter_page(
    facility: str | None,
    period: str | None,
    status: int = 200,
    errors: list[dict[str, Any]] | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    data = None
    period, quarters = facilities.quarter_choice(facility, period)
    if facility and period:
        require_facility(facility, "facility")
        [data] = rpc("finance", "quarter_schedules", period, [facility])
    return render(
        "capitation_quarter.html",
        status,
        q={"facility": facility, "period": period},
        data=data,
        facilities=facilities.picker(),
        quarters=quarters,
        facility_label=facility_name(facility) if facility else None,
        step_names=STEP_NAMES,
        payment_kinds=PAYMENT_KINDS,
        errors=errors or [],
        form=form or {},
    )


@bp.get("/capitation/quarter")
@allow(*READ_ROLES)
@page(query=QuarterPageQuery)
def capitation_quarter() -> Any:
    """A facility's quarter: its report, the advance it gives and its due date, the result and the payment."""
    q = page_args(QuarterPageQuery())
    return _quarter_page(q.get("facility"), q.get("period"))


def _year_of(period: str | None) -> int | None:
    """The year of a form's period ("2024", "2024-Q3"); None when it names none."""
    m = re.match(r"^(\d{4})", period or "")
    return int(m.group(1)) if m else None


def _write(
    schema: Schema,
    record: Callable[[dict[str, Any]], dict[str, Any]],
    done: str | Callable[[dict[str, Any]], str],
    decode: Callable[[], dict[str, Any]] | None = None,
) -> Any:
    """A capitation write from its form (the same checks as the API's, application/capitation.py), back to the
    page it was sent from: the year at a glance when the form says `back=year`, else the quarter. A refusal
    shows that page again with the messages beside the fields and what was typed."""
    audit_form()
    facility, period = request.form.get("facility_code") or None, request.form.get("period") or None
    to_year = request.form.get("back") == "year"
    year = _year_of(period) if to_year else None

    def recorded(out: dict[str, Any]) -> Any:
        flash(done(out) if callable(done) else done.format(**{**out, "period": period_text(out["period"])}), "ok")
        if to_year:
            return redirect(url_for("web.capitation_year", facility=out["facility_code"], year=out["period"][:4]), 303)
        return redirect(url_for("web.capitation_quarter", facility=out["facility_code"], period=out["period"]), 303)

    def again(status: int, errors: list[dict[str, Any]], form: dict[str, str]) -> Any:
        if to_year:
            return _year_page(facility, year, status, errors, form)
        return _quarter_page(facility, period, status, errors, form)

    def plain(status: int, errors: list[dict[str, Any]], form: dict[str, str]) -> Any:
        if to_year:
            return _year_page(None, None, status, errors, form)
        return _quarter_page(None, None, status, errors, form)

    if decode is not None:
        # write_form loads flat fields itself; a form with rows (card groups) or Vietnamese decimals is decoded
        # by `decode`, then checked and recorded the same way.
        try:
            out = record(decode())
        except WRITE_ERRORS as exc:
            return show_refused(exc, again, plain)
        if out.get("id") is not None:
            g.audit_details["result_id"] = out["id"]
        return recorded(out)
    return write_form(schema, record, lambda exc: show_refused(exc, again, plain), recorded)


@bp.post("/capitation/quarter/report")
@allow(*BHXH_WRITERS)
@page(body=QuarterlyReportCommandV1)
def record_quarter_report() -> Any:
    """BHXH received the facility's quarterly report (the same checks as POST /api/v1/capitation/reports)."""
    return _write(QuarterlyReportCommandV1(), capitation.record_report, "Đã ghi nhận báo cáo quyết toán {period}.")


@bp.post("/capitation/quarter/result")
@allow(*BHXH_WRITERS)
@page(body=QuarterlyResultCommandV1)
def record_quarter_result() -> Any:
    """BHXH's assessed result of the quarter (the same checks as POST /api/v1/capitation/results)."""
    return _write(QuarterlyResultCommandV1(), capitation.record_result, "Đã ghi kết quả giám định {period}.")


@bp.post("/capitation/quarter/payment")
@allow(*BHXH_WRITERS)
@page(body=QuarterlyPaymentCommandV1)
def record_quarter_payment() -> Any:
    """A payment, refund or offset of the quarter (the same checks as POST /api/v1/capitation/payments)."""
    return _write(QuarterlyPaymentCommandV1(), capitation.record_payment, "Đã ghi thanh toán số {id} {period}.")


# --------------------------------------------------------------------------- a facility's year at a glance

GROUP_ROWS = 5  # card-group rows on the fund form (BHXH's notice lists a few groups: by card code or age)


class YearPageQuery(Schema):
    facility = fields.String(validate=claims_contract.FACILITY, metadata={"example": "91060"})
    year = fields.Integer(validate=validate.Range(min=2015, max=2100), metadata={"example": 2024})


def _year_page(
    facility: str | None,
    year: int | None,
    status: int = 200,
    errors: list[dict[str, Any]] | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    data = capitation.year_glance(facility, year) if facility and year else None
    role = g.principal.role
    return render(
        "capitation_year.html",
        status,
        q={"facility": facility, "year": year},
        data=data,
        facilities=facilities.picker(),
        facility_label=facility_name(facility) if facility else None,
        step_names=STEP_NAMES,
        step_label=capitation.step_label,
        payment_kinds=PAYMENT_KINDS,
        can_fund=role in FINANCE_WRITERS,
        can_bhxh=role in BHXH_WRITERS,
        group_rows=range(1, GROUP_ROWS + 1),
        errors=errors or [],
        form=form or {},
        today=clock.today().isoformat(),
    )


@bp.get("/capitation/year")
@allow(*READ_ROLES)
@page(query=YearPageQuery)
def capitation_year() -> Any:
    """A facility's capitation year at a glance: the fund with its inputs and document, each quarter's report,
    advance, result and payment with their due dates, what is overdue today, and the yearly settlement; the
    forms to record each missing step, for the role that owns it."""
    q = page_args(YearPageQuery())
    return _year_page(q.get("facility"), q.get("year"))


def decimal_text(text: str, percent: bool = False) -> str:
    """A decimal as people type it: "1,05" (Vietnamese comma) or "1.05"; with `percent`, "25%" means 0.25.
    What is not a number is handed on as typed, for the schema to refuse by name."""
    t = text.strip().replace(" ", "")
    if percent and t.endswith("%"):
        number = t[:-1].replace(",", ".")
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?", number):
            whole, _, frac = number.partition(".")
            digits = (whole + frac).lstrip("0") or "0"
            places = len(frac) + 2  # divided by 100, exactly: no float on the way
            digits = digits.rjust(places + 1, "0")
            return f"{digits[:-places]}.{digits[-places:]}"
        return t
    if "," in t and "." not in t:
        return t.replace(",", ".")
    return t


def count_text(text: str) -> Any:
    """A count typed with thousands dots or spaces ("12.500", "12 500") is 12500; anything else as typed."""
    t = text.strip()
    if re.fullmatch(r"[0-9]{1,3}([. ][0-9]{3})+|[0-9]+", t):
        return int(re.sub(r"[. ]", "", t))
    return t


def _fund_command() -> dict[str, Any]:
    """The fund form: period, card groups (rows `group_n`, `cards_n`, `rate_per_card_n`), coefficient, and the
    document that set them, loaded by the API's CapitationFundCommandV1. A refused row is named by its place on
    the form (groups.<row-1>.<field>), whichever rows were left empty."""
    schema = CapitationFundCommandV1()
    raw = form_data(schema)
    if "coefficient" in raw:
        raw["coefficient"] = decimal_text(raw["coefficient"])
    if "cards" in raw:
        raw["cards"] = count_text(raw["cards"])
    rows: list[int] = []
    groups: list[dict[str, Any]] = []
    for n in range(1, GROUP_ROWS + 1):
        row = {k: request.form.get(f"{k}_{n}", "").strip() for k in ("group", "cards", "rate_per_card")}
        if any(row.values()):
            rows.append(n - 1)
            groups.append({k: count_text(v) if k == "cards" else v for k, v in row.items() if v})
    if groups:
        raw["groups"] = groups
    try:
        return schema.load(raw)
    except ValidationError as exc:
        messages = dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        if isinstance(messages.get("groups"), dict):
            messages["groups"] = {
                rows[i] if isinstance(i, int) and i < len(rows) else i: m for i, m in messages["groups"].items()
            }
        raise ValidationError(messages) from None


def _settlement_command() -> dict[str, Any]:
    schema = SettlementCommandV1()
    raw = form_data(schema)
    if "station_share_rate" in raw:
        raw["station_share_rate"] = decimal_text(raw["station_share_rate"], percent=True)
    return schema.load(raw)


def _fund_done(out: dict[str, Any]) -> str:
    decision = (out.get("inputs") or {}).get("decision") or {}
    doc = f" theo văn bản số {decision['number']}" if decision.get("number") else ""
    return f"Đã ghi quỹ định suất {period_text(out['period'])}: {vnd(out['fund'])}{doc}."


def _settlement_done(out: dict[str, Any]) -> str:
    """What the settlement decided, said once after recording it (the year's page shows the one in force)."""
    head = f"Đã quyết toán {period_text(out['period'])}: quỹ {vnd(out['fund'])}, chi định suất {vnd(out['spend_vnd'])}"
    if out.get("provisional"):
        return f"{head}, cân đối tạm tính {vnd(out['balance'])}."
    if out["surplus"]:
        decision = out.get("station_share_decision") or {}
        return (
            f"{head}, kết dư {vnd(out['surplus'])} để lại cơ sở; chuyển các trạm y tế {vnd(out['station_share'])}"
            f" (tỷ lệ {percent(out['station_share_rate'])}, quyết định số {decision.get('number')}"
            f" ngày {vn_date(decision.get('date'))})."
        )
    return f"{head}, bội chi {vnd(out['deficit'])} do cơ sở tự bảo đảm."


@bp.post("/capitation/fund")
@allow(*FINANCE_WRITERS)
@page(body=CapitationFundCommandV1)
def record_capitation_fund() -> Any:
    """A facility's capitation fund for a year (or a quarter's provisional share), its card groups, rates and
    coefficient with the document that set them (the same checks as POST /api/v1/capitation/funds)."""
    return _write(CapitationFundCommandV1(), capitation.set_fund, _fund_done, _fund_command)


@bp.post("/capitation/advance")
@allow(*BHXH_WRITERS)
@page(body=AdvanceCommandV1)
def record_capitation_advance() -> Any:
    """An advance (tạm ứng) paid to a facility for a quarter (the same checks as POST /api/v1/capitation/advances)."""
    return _write(
        AdvanceCommandV1(),
        capitation.pay_advance,
        lambda out: f"Đã ghi tạm ứng {period_text(out['period'])}: {vnd(out['amount'])}.",
    )


@bp.post("/capitation/settlement")
@allow(*BHXH_WRITERS)
@page(body=SettlementCommandV1)
def record_capitation_settlement() -> Any:
    """The year's settlement: surplus to the facility and the stations' share by its decision, a deficit borne by
    the facility (the same checks as POST /api/v1/capitation/settlements)."""
    return _write(SettlementCommandV1(), capitation.settle, _settlement_done, _settlement_command)
