"""Finance service messages: allocations, disbursements, adjustments, capitation (định suất).

Events (version 1; fields added later are optional, so a V1 consumer keeps working) and the RPC
commands the gateway sends (the gateway loads request bodies with the same schemas).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.contracts.fields import VND, Count, Day, Id, Money2, Text, Year

REQUIRED = "Thiếu trường bắt buộc."


class DecimalString(fields.Field):
    """An exact decimal: a string ("1.05") or an integer on the wire, `Decimal` in Python; never a float."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, (float, bool)):
            raise ValidationError('Số thập phân phải gửi dạng chuỗi, ví dụ "1.05" (không dùng số thực).')
        try:
            d = Decimal(str(value).strip())
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError("Không phải số thập phân hợp lệ.") from exc
        if not d.is_finite():
            raise ValidationError("Không phải số thập phân hợp lệ.")
        if d.adjusted() >= 6 or d.as_tuple().exponent < -10:  # a coefficient or a rate, never 1e999999
            raise ValidationError("Số thập phân nằm ngoài khoảng cho phép (nhỏ hơn 1.000.000, tối đa 10 chữ số lẻ).")
        return d


# --------------------------------------------------------------------------- events


class _Event(Schema):
    class Meta:
        ordered = True


class AllocationMadeV1(_Event):
    allocation_id = fields.Integer(required=True)
    parent_allocation_id = fields.Integer(allow_none=True, load_default=None)
    plan_id = fields.Integer(required=True)
    item_code = fields.String(required=True)
    source = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    recipient_unit = fields.String(required=True)
    kind = fields.String(required=True)
    amount = VND(required=True)
    fund_year = fields.Integer(allow_none=True, load_default=None)
    use = fields.String(allow_none=True, load_default=None)
    decision_no = fields.String(allow_none=True, load_default=None)
    decision_date = fields.Date(allow_none=True, load_default=None)


class DisbursedV1(_Event):
    disbursement_id = fields.Integer(required=True)
    allocation_id = fields.Integer(required=True)
    amount = VND(required=True)  # negative for a reversal
    date = fields.Date(required=True)
    reverses_id = fields.Integer(allow_none=True, load_default=None)
    reference = fields.String(allow_none=True, load_default=None)


class AdjustedV1(_Event):
    adjustment_id = fields.Integer(required=True)
    allocation_id = fields.Integer(required=True)
    amount = VND(required=True)
    decision_no = fields.String(allow_none=True, load_default=None)
    decision_date = fields.Date(allow_none=True, load_default=None)


class CapitationFundSetV1(_Event):
    """The fund in force for a facility-quarter; a later one (higher fund_id) supersedes it."""

    fund_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    fund = VND(required=True)
    cards = fields.Integer(allow_none=True, load_default=None)
    coefficient = fields.String(allow_none=True, load_default=None)
    supersedes_id = fields.Integer(allow_none=True, load_default=None)


class AdvancePaidV1(_Event):
    advance_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    amount = VND(required=True)
    date = fields.Date(allow_none=True, load_default=None)


class SettlementMadeV1(_Event):
    settlement_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    fund = VND(required=True)
    spend = VND(required=True)  # the reported spend rounded half up to the đồng
    balance = VND(required=True)  # fund − spend: > 0 surplus (kết dư), < 0 deficit (vượt quỹ)
    spend_exact = Money2(allow_none=True, load_default=None)
    advanced = VND(allow_none=True, load_default=None)
    station_share = VND(allow_none=True, load_default=None)
    supersedes_id = fields.Integer(allow_none=True, load_default=None)


class QuarterlyReportReceivedV1(_Event):
    """BHXH received a facility's quarterly settlement report; the advance it gives and when it is due."""

    report_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    received_date = fields.Date(required=True)
    total = Money2(required=True)  # Σ T_BHTT of the accepted claims, all payment methods
    advance = VND(required=True)
    advance_due = fields.Date(required=True)


class QuarterlyResultNotifiedV1(_Event):
    result_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    result_date = fields.Date(required=True)
    approved = Money2(required=True)
    advanced = VND(required=True)
    to_pay = VND(required=True)  # negative: an excess advance to refund or offset


class QuarterlyPaymentMadeV1(_Event):
    payment_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    kind = fields.String(required=True)  # payment | refund | offset
    amount = VND(required=True)
    date = fields.Date(required=True)
    offset_period = fields.String(allow_none=True, load_default=None)


class AllocationYearEndV1(_Event):
    """The budget year end of an allocation: `allocation_carried_over` (chuyển nguồn to `to_year`) or
    `allocation_closed` (quyết toán: the money lapses; `to_year` is null); `allocation_year_end_reversed`:
    a negative record of `kind` undoing part of the record `reverses_id`."""

    record_id = fields.Integer(required=True)
    allocation_id = fields.Integer(required=True)
    fiscal_year = fields.Integer(required=True)
    to_year = fields.Integer(allow_none=True, load_default=None)
    amount = VND(required=True)
    date = fields.Date(required=True)
    decision_no = fields.String(required=True)
    decision_date = fields.Date(required=True)
    recorded_by = fields.String(allow_none=True, load_default=None)
    kind = fields.String(allow_none=True, load_default=None)  # carry_over | close
    reverses_id = fields.Integer(allow_none=True, load_default=None)


EVENTS = {
    "allocation_made": (1, AllocationMadeV1),
    "sub_allocation_made": (1, AllocationMadeV1),
    "disbursed": (1, DisbursedV1),
    "adjusted": (1, AdjustedV1),
    "capitation_fund_set": (1, CapitationFundSetV1),
    "advance_paid": (1, AdvancePaidV1),
    "settlement_made": (1, SettlementMadeV1),
    "quarterly_report_received": (1, QuarterlyReportReceivedV1),
    "quarterly_result_notified": (1, QuarterlyResultNotifiedV1),
    "quarterly_payment_made": (1, QuarterlyPaymentMadeV1),
    "allocation_carried_over": (1, AllocationYearEndV1),
    "allocation_closed": (1, AllocationYearEndV1),
    "allocation_year_end_reversed": (1, AllocationYearEndV1),
}


# --------------------------------------------------------------------------- RPC commands


class AllocationCommandV1(Schema):
    """POST /api/v1/allocations. On a sub-allocation plan, item, source and year default to the parent's."""

    plan_id = Id(strict=True, load_default=None, allow_none=True)
    item_code = Text(load_default=None, allow_none=True, validate=validate.Length(max=20))
    source = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))
    fiscal_year = Year(strict=True, load_default=None, allow_none=True)
    recipient_unit = Text(required=True, validate=validate.Length(min=1, max=10))
    amount = VND(required=True)
    decision_no = Text(load_default=None, allow_none=True, validate=validate.Length(max=80))
    decision_date = Day(load_default=None, allow_none=True)
    parent_allocation_id = Id(strict=True, load_default=None, allow_none=True)
    kind = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "budget (default) | package_payment (khoán/đặt hàng, TT 39/2017 Phụ lục III)"},
    )
    fund_year = Year(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "BHYT fund year of a 20% surplus allocation (2015–2020, before the fiscal year)"},
    )
    use = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={
            "description": "a 20% surplus allocation's legal use: kcb_poor_fund | premium_support | "
            "equipment | patient_transport"
        },
    )
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _root_needs_its_keys(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("parent_allocation_id") is None:
            missing = [k for k in ("plan_id", "item_code", "source", "fiscal_year") if data.get(k) is None]
            if missing:
                raise ValidationError({k: [REQUIRED] for k in missing})


# What investment links to an allocation (a project's capital naming it as its funding), as the gateway asked
# investment just before sending the command; finance keeps that much covered (domain.check_linked_capital).
# Not part of the API bodies: the gateway sets them, as it sets `allocation_room` for investment
# (contracts.investment.CapitalCommandIn). Absent: the caller did not ask, and nothing is checked.
_LINKED = {"allow_none": True, "load_default": None}


class AllocationCommandIn(AllocationCommandV1):
    """`create_allocation` as the gateway sends it: for a sub-allocation, the capital linked to its parent."""

    parent_linked_capital = VND(**_LINKED)


MAX_IMPORT_ROWS = 2000  # a province's allocations of a year run to a few hundred rows


class AllocationImportRowIn(AllocationCommandIn):
    """One row of an imported sheet: the allocation as `create_allocation` takes it, and the sheet's row number
    that every refusal of it names."""

    row = Count(strict=True, required=True)


class AllocationImportIn(Schema):
    """`import_allocations`: a sheet of allocations, recorded together or not at all; a row the ledger already
    holds is not recorded again (services/finance/domain/imports.py)."""

    rows = fields.List(
        fields.Nested(AllocationImportRowIn), required=True, validate=validate.Length(min=1, max=MAX_IMPORT_ROWS)
    )


class DisbursementCommandV1(Schema):
    amount = VND(required=True)
    date = Day(required=True)
    reference = Text(load_default=None, allow_none=True, validate=validate.Length(max=120))


class ReversalCommandV1(Schema):
    """Hủy (một phần) một lần giải ngân: `amount` is the positive size; absent = all that is left."""

    amount = VND(load_default=None, allow_none=True)
    date = Day(required=True)
    reference = Text(load_default=None, allow_none=True, validate=validate.Length(max=120))


class DisbursementImportRowIn(DisbursementCommandV1):
    """One row of an imported sheet of disbursements: the allocation paid from, the payment as `disburse` takes
    it, and the sheet's row number that every refusal of it names. The voucher number (số chứng từ) is required:
    it is what tells a payment already recorded from a new one (services/finance/domain/imports.py)."""

    row = Count(strict=True, required=True)
    allocation_id = Id(required=True)
    reference = Text(
        required=True,
        validate=[validate.Length(max=120), validate.Regexp(r"\s*\S", error="Số chứng từ không được để trống.")],
    )


class DisbursementImportIn(Schema):
    """`import_disbursements`: a sheet of disbursements, recorded together or not at all; a row the ledger
    already holds is not recorded again."""

    rows = fields.List(
        fields.Nested(DisbursementImportRowIn), required=True, validate=validate.Length(min=1, max=MAX_IMPORT_ROWS)
    )


class AdjustmentCommandV1(Schema):
    amount = VND(required=True)  # signed
    decision_no = Text(load_default=None, allow_none=True, validate=validate.Length(max=80))
    decision_date = Day(load_default=None, allow_none=True)
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class AdjustmentCommandIn(AdjustmentCommandV1):
    """`adjust` as the gateway sends it: down, the capital linked to the allocation itself; up, for a
    sub-allocation, the capital linked to its parent (the increase comes out of the parent)."""

    linked_capital = VND(**_LINKED)
    parent_linked_capital = VND(**_LINKED)


class YearEndCommandV1(Schema):
    """POST /api/v1/allocations/{id}/carry-over and /close: chuyển nguồn or quyết toán of what the allocation
    still holds of its past fiscal year, by a decision (số/ngày văn bản)."""

    amount = VND(required=True)
    date = Day(required=True, metadata={"description": "on or after 31/12 of the allocation's fiscal year"})
    decision_no = Text(required=True, validate=validate.Length(min=1, max=80))
    decision_date = Day(required=True)
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class YearEndReversalCommandV1(Schema):
    """POST /api/v1/year-end-records/{id}/reversals: undo (part of) a carry-over or a close by a decision;
    `amount` is the positive size, absent = all that is left."""

    amount = VND(load_default=None, allow_none=True)
    date = Day(required=True)
    decision_no = Text(required=True, validate=validate.Length(min=1, max=80))
    decision_date = Day(required=True)
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


MAX_CARD_GROUPS = 50


class CardGroupV1(Schema):
    group = Text(required=True, validate=validate.Length(min=1, max=40))
    cards = Count(strict=True, required=True)
    rate_per_card = VND(required=True)


class CapitationFundCommandV1(Schema):
    """fund = round(cards × rate_per_card × coefficient), or Σ over `groups` × coefficient (half up)."""

    facility_code = fields.String(required=True)
    period = fields.String(
        required=True,
        metadata={"description": "YYYY (the legal, annual fund: NĐ 146 Điều 25 k4) or YYYY-Qn (a provisional share)"},
    )
    cards = Count(strict=True, load_default=None, allow_none=True)
    rate_per_card = VND(load_default=None, allow_none=True)
    coefficient = DecimalString(load_default=None, allow_none=True, metadata={"description": 'e.g. "1.05"'})
    # A facility's cards fall into a handful of groups (by who pays the contribution); a bound names a list past
    # any real one instead of letting a 1 MB body carry tens of thousands.
    groups = fields.List(
        fields.Nested(CardGroupV1), load_default=None, allow_none=True, validate=validate.Length(max=MAX_CARD_GROUPS)
    )
    decision_no = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=80),
        metadata={"description": "the document that set the cards, rates and coefficient (BHXH's notice)"},
    )
    decision_date = Day(load_default=None, allow_none=True)
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class AdvanceCommandV1(Schema):
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    amount = VND(required=True)
    date = Day(required=True)
    reference = Text(load_default=None, allow_none=True, validate=validate.Length(max=120))


class SettlementCommandV1(Schema):
    facility_code = fields.String(required=True)
    period = fields.String(
        required=True, metadata={"description": "YYYY: the year's final settlement; YYYY-Qn: provisional"}
    )
    station_share_rate = DecimalString(
        load_default=None,
        allow_none=True,
        metadata={"description": "a year's surplus share passed to the commune stations, by its decision (no default)"},
    )
    station_share_decision_no = Text(load_default=None, allow_none=True, validate=validate.Length(max=80))
    station_share_decision_date = Day(load_default=None, allow_none=True)


class QuarterlyReportCommandV1(Schema):
    """POST /api/v1/capitation/reports: BHXH received a facility's quarterly settlement report."""

    facility_code = fields.String(required=True)
    period = fields.String(required=True, metadata={"description": "YYYY-Qn, the quarter reported"})
    received_date = Day(required=True)


class QuarterlyResultCommandV1(Schema):
    """POST /api/v1/capitation/results: BHXH notified its assessed result of the quarter."""

    facility_code = fields.String(required=True)
    period = fields.String(required=True, metadata={"description": "YYYY-Qn"})
    result_date = Day(required=True)
    reference = Text(load_default=None, allow_none=True, validate=validate.Length(max=120))


class QuarterlyPaymentCommandV1(Schema):
    """POST /api/v1/capitation/payments: BHXH's payment of `approved − advanced`, or an excess advance's
    refund by the facility or offset against a later quarter."""

    facility_code = fields.String(required=True)
    period = fields.String(required=True, metadata={"description": "YYYY-Qn, the quarter settled"})
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["payment", "refund", "offset"]),
        metadata={"description": "payment | refund | offset"},
    )
    amount = VND(required=True)
    date = Day(required=True)
    offset_period = fields.String(load_default=None, allow_none=True, metadata={"description": "YYYY-Qn (offset)"})
    reference = Text(load_default=None, allow_none=True, validate=validate.Length(max=120))


# --------------------------------------------------------------------------- RPC answers (for the docs)


class SourceFiguresV1(Schema):
    allocated = fields.Integer()
    disbursed = fields.Integer()


class FundingStatusV1(Schema):
    """funding_status(plan_id, item_code, year=None, unit=None); funding_tree's items have the same shape."""

    plan_id = fields.Integer()
    code = fields.String()
    year = fields.Integer(allow_none=True)
    unit = fields.String(allow_none=True)
    allocated = fields.Integer()
    disbursed = fields.Integer()
    execution_rate = fields.String(allow_none=True, metadata={"description": '"0.4523" or null'})
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(SourceFiguresV1))
    by_year = fields.Dict(keys=fields.String(), values=fields.Nested(SourceFiguresV1))


class UnitFundingV1(Schema):
    unit = fields.String()
    year = fields.Integer(allow_none=True)
    allocated = fields.Integer()
    disbursed = fields.Integer()
    execution_rate = fields.String(allow_none=True)
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(SourceFiguresV1))
    by_year = fields.Dict(keys=fields.String(), values=fields.Nested(SourceFiguresV1))
    by_item = fields.List(fields.Dict())


class AllocationViewV1(Schema):
    id = fields.Integer()
    plan_id = fields.Integer()
    item_code = fields.String()
    source = fields.String()
    fiscal_year = fields.Integer()
    fund_year = fields.Integer(allow_none=True)
    use = fields.String(allow_none=True)
    recipient_unit = fields.String()
    kind = fields.String()
    amount = fields.Integer()
    decision_no = fields.String()
    decision_date = fields.Date()
    parent_allocation_id = fields.Integer(allow_none=True)
    adjusted = fields.Integer()
    allocated = fields.Integer()
    sub_allocated = fields.Integer()
    disbursed = fields.Integer()
    remaining = fields.Integer()
    # The budget year end (docs/finance.md "Budget year end"): what was carried into the next year, what of it is
    # still to pay, what lapsed; the detail also lists the records.
    carried_over = fields.Integer()
    carried_over_left = fields.Integer()
    closed = fields.Integer()
    year_end = fields.List(fields.Nested(lambda: YearEndRecordV1()))


class YearEndRecordV1(Schema):
    """A carry-over (chuyển nguồn) or close (quyết toán) record, or a reversal of one (negative amount)."""

    id = fields.Integer()
    allocation_id = fields.Integer()
    kind = fields.String(metadata={"enum": ["carry_over", "close"]})
    amount = fields.Integer()
    date = fields.Date()
    decision_no = fields.String()
    decision_date = fields.Date()
    recorded_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True)
