"""Finance service messages: allocations, disbursements, adjustments, capitation (định suất)."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.contracts.fields import VND


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


class DisbursedV1(_Event):
    disbursement_id = fields.Integer(required=True)
    allocation_id = fields.Integer(required=True)
    amount = VND(required=True)  # negative for a reversal
    date = fields.Date(required=True)


class AdjustedV1(_Event):
    adjustment_id = fields.Integer(required=True)
    allocation_id = fields.Integer(required=True)
    amount = VND(required=True)


class CapitationFundSetV1(_Event):
    fund_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    fund = VND(required=True)


class AdvancePaidV1(_Event):
    advance_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    amount = VND(required=True)


class SettlementMadeV1(_Event):
    settlement_id = fields.Integer(required=True)
    facility_code = fields.String(required=True)
    period = fields.String(required=True)
    fund = VND(required=True)
    spend = VND(required=True)
    balance = VND(required=True)


EVENTS = {
    "allocation_made": (1, AllocationMadeV1),
    "sub_allocation_made": (1, AllocationMadeV1),
    "disbursed": (1, DisbursedV1),
    "adjusted": (1, AdjustedV1),
    "capitation_fund_set": (1, CapitationFundSetV1),
    "advance_paid": (1, AdvancePaidV1),
    "settlement_made": (1, SettlementMadeV1),
}
