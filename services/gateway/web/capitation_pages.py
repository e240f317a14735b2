"""The BHXH page of a facility's quarter (quyết toán quý): record that its settlement report was received, see
the figures kept from the claims, the advance it gives and when it is due, record BHXH's result and the payment
(or an excess advance's refund or offset), with every due date and what is overdue. The same RPCs and
contract schemas as POST /api/v1/capitation/reports, /results and /payments (docs/finance.md §6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for
from marshmallow import Schema, fields

from services.common.contracts import claims as claims_contract
from services.common.contracts.finance import (
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
)
from services.gateway.application import capitation, facilities
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.application.facilities import facility_name, require_facility
from services.gateway.application.remote import rpc
from services.gateway.web.bhxh_pages import PeriodText
from services.gateway.web.common import (
    BHXH_WRITERS,
    audit_form,
    bp,
    page,
    page_args,
    render,
    show_refused,
    write_form,
)

STEP_NAMES = {
    "report": "Cơ sở gửi báo cáo quyết toán quý (trong 15 ngày đầu quý sau)",
    "advance": "BHXH tạm ứng 80% chi phí trong báo cáo (trong 5 ngày làm việc)",
    "result": "BHXH thông báo kết quả giám định (30 ngày; quý 4 từ 01/7/2025: 60 ngày)",
    "payment": "Thanh toán phần còn lại, hoặc thu hồi / bù trừ tạm ứng thừa (trong 10 ngày)",
}
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
    if facility and period:
        require_facility(facility, "facility")
        [data] = rpc("finance", "quarter_schedules", period, [facility])
    return render(
        "capitation_quarter.html",
        status,
        q={"facility": facility, "period": period},
        data=data,
        facilities=facilities.picker(),
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


def _write(schema: Schema, record: Callable[[dict[str, Any]], dict[str, Any]], done: str) -> Any:
    """A step of the quarter from its form (the same checks as the API's, application/capitation.py)."""
    audit_form()
    facility, period = request.form.get("facility_code") or None, request.form.get("period") or None

    def recorded(out: dict[str, Any]) -> Any:
        flash(done.format(**out), "ok")
        return redirect(url_for("web.capitation_quarter", facility=out["facility_code"], period=out["period"]), 303)

    return write_form(
        schema,
        record,
        lambda exc: show_refused(
            exc,
            lambda status, errors, form: _quarter_page(facility, period, status, errors, form),
            lambda status, errors, form: _quarter_page(None, None, status, errors, form),
        ),
        recorded,
    )


@bp.post("/capitation/quarter/report")
@allow(*BHXH_WRITERS)
@page(body=QuarterlyReportCommandV1)
def record_quarter_report() -> Any:
    """BHXH received the facility's quarterly report (the same checks as POST /api/v1/capitation/reports)."""
    return _write(QuarterlyReportCommandV1(), capitation.record_report, "Đã ghi nhận báo cáo quyết toán quý {period}.")


@bp.post("/capitation/quarter/result")
@allow(*BHXH_WRITERS)
@page(body=QuarterlyResultCommandV1)
def record_quarter_result() -> Any:
    """BHXH's assessed result of the quarter (the same checks as POST /api/v1/capitation/results)."""
    return _write(QuarterlyResultCommandV1(), capitation.record_result, "Đã ghi kết quả giám định quý {period}.")


@bp.post("/capitation/quarter/payment")
@allow(*BHXH_WRITERS)
@page(body=QuarterlyPaymentCommandV1)
def record_quarter_payment() -> Any:
    """A payment, refund or offset of the quarter (the same checks as POST /api/v1/capitation/payments)."""
    return _write(QuarterlyPaymentCommandV1(), capitation.record_payment, "Đã ghi thanh toán số {id} quý {period}.")
