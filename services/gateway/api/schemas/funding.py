"""Request and response schemas of the funding endpoints (api/funding.py): the OpenAPI document's shapes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.contracts import investment as contract
from services.common.contracts.fields import VND


class FundingQuery(Schema):
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "Fiscal year; all years when absent", "example": 2024},
    )
    unit = fields.String(
        validate=validate.Regexp(r"^[0-9]{2,5}$"),
        metadata={
            "description": "GSO code of a district or commune (recipient unit); the caller's own by default",
            "example": "910",
        },
    )


class TargetsQuery(Schema):
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "The year the actual values are computed for (and the money up to)", "example": 2024},
    )
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"), metadata={"example": "910"})


class Pair(Schema):
    allocated = VND(required=True, metadata={"example": 1_200_000_000})
    disbursed = VND(required=True, metadata={"example": 450_000_000})


class YearEnd(Schema):
    carried_over_in = VND(required=True, metadata={"example": 150_000_000})
    carried_over_out = VND(required=True, metadata={"example": 0})
    closed = VND(required=True, metadata={"example": 0})


class Figures(Schema):
    allocated = VND(required=True, metadata={"description": "Phân bổ + vốn giao (VND)", "example": 1_200_000_000})
    disbursed = VND(required=True, metadata={"description": "Giải ngân (VND)", "example": 450_000_000})
    execution_rate = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "disbursed ÷ allocated, a decimal string with 4 places", "example": "0.3750"},
    )
    by_source = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Pair),
        required=True,
        metadata={"example": {"provincial_budget": {"allocated": 1_200_000_000, "disbursed": 450_000_000}}},
    )
    by_year = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Pair),
        required=True,
        metadata={"example": {"2024": {"allocated": 1_200_000_000, "disbursed": 450_000_000}}},
    )
    by_unit = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Pair),
        required=True,
        metadata={"example": {"910": {"allocated": 1_200_000_000, "disbursed": 450_000_000}}},
    )
    carried_over_in = VND(
        metadata={
            "description": "Chuyển nguồn vào: money of the year before carried into this year (docs/finance.md "
            "\"Budget year end\"); inside the year before's `allocated`, never in this year's",
            "example": 150_000_000,
        }
    )
    carried_over_out = VND(
        metadata={"description": "Chuyển nguồn ra: money of this year carried to the next", "example": 0}
    )
    closed = VND(metadata={"description": "Quyết toán (đóng): money of the year that lapsed", "example": 0})
    year_end_by_year = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(YearEnd),
        metadata={
            "description": "The year-end figures per fiscal year (years with any)",
            "example": {"2024": {"carried_over_in": 150_000_000, "carried_over_out": 0, "closed": 0}},
        },
    )
    linked_capital = VND(
        metadata={
            "description": "Project capital that names the finance allocation funding it (funded_by_allocation), "
            "where finance's figure counts that allocation: inside `allocated` once, in both streams",
            "example": 600_000_000,
        }
    )


_MONEY2 = {"description": "Decimal string, 2 places (as the claims service keeps it)"}


class Bhyt(Schema):
    """BHYT capitation for the plan's unit and year (claims service): shown beside, not added into, the money."""

    unit = fields.String(allow_none=True, required=True, metadata={"example": "910"})
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2024})
    facilities = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Registered facilities counted (null: every facility)", "example": 9},
    )
    fund = fields.String(allow_none=True, metadata={**_MONEY2, "example": "2400000000.00"})
    advanced = fields.String(allow_none=True, metadata={**_MONEY2, "example": "1800000000.00"})
    spend = fields.String(allow_none=True, metadata={**_MONEY2, "example": "1523400.50"})
    requested = fields.String(allow_none=True, metadata={**_MONEY2, "example": "2150000.00"})
    approved = fields.String(allow_none=True, metadata={**_MONEY2, "example": "2100000.00"})


class Missing(Schema):
    part = fields.String(required=True, metadata={"example": "claims"})
    kind = fields.String(required=True, metadata={"example": "timeout"})
    reason = fields.String(required=True, metadata={"example": "dịch vụ không trả lời kịp"})


_PART_STATE = fields.String(validate=validate.OneOf(["ok", "unavailable", "not_applicable"]))


class Parts(Schema):
    """Which services' figures the answer is made of."""

    parts = fields.Dict(
        keys=fields.String(),
        values=_PART_STATE,
        required=True,
        metadata={"example": {"finance": "ok", "investment": "ok", "claims": "not_applicable"}},
    )
    partial = fields.Boolean(required=True, metadata={"example": False})
    missing = fields.List(fields.Nested(Missing), required=True, metadata={"example": []})


class ItemFunding(Figures, Parts):
    plan_id = fields.Integer(required=True, metadata={"example": 1})
    code = fields.String(required=True, metadata={"example": "II.5"})
    title = fields.String(required=True)
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2024})
    unit = fields.String(allow_none=True, required=True, metadata={"example": None})
    streams = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Pair),
        required=True,
        metadata={
            "description": "What each money stream contributes (finance: allocations; investment: capital)",
            "example": {
                "finance": {"allocated": 700_000_000, "disbursed": 250_000_000},
                "investment": {"allocated": 500_000_000, "disbursed": 200_000_000},
            },
        },
    )
    bhyt = fields.Nested(Bhyt, allow_none=True, required=True)


class TreeItem(Figures):
    code = fields.String(required=True, metadata={"example": "II.5"})
    title = fields.String(required=True)
    parent_code = fields.String(allow_none=True, required=True, metadata={"example": "II"})
    kind = fields.String(required=True, metadata={"example": "task"})
    depth = fields.Integer(required=True, metadata={"example": 1})
    streams = fields.Dict(keys=fields.String(), values=fields.Nested(Pair), required=True)
    bhyt = fields.Nested(Bhyt, allow_none=True, required=True)


class PlanFunding(Parts):
    plan_id = fields.Integer(required=True, metadata={"example": 1})
    number = fields.String(required=True, metadata={"example": "158/KH-UBND"})
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2024})
    unit = fields.String(allow_none=True, required=True, metadata={"example": None})
    total = fields.Nested(Figures, required=True)
    items = fields.List(fields.Nested(TreeItem), required=True)
    bhyt = fields.Nested(Bhyt, allow_none=True, required=True)


class Money(Pair):
    items = fields.List(fields.String(), required=True, metadata={"example": ["II.5"]})
    execution_rate = fields.String(allow_none=True, required=True, metadata={"example": "0.3750"})
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(Pair), required=True)


class TargetRow(Schema):
    item_code = fields.String(required=True, metadata={"example": "I.2.b"})
    key = fields.String(required=True, metadata={"example": "stations_bhyt_eligible"})
    indicator = fields.String(required=True)
    target = fields.Float(allow_none=True, required=True, metadata={"example": 100})
    target_unit = fields.String(required=True, metadata={"example": "percent"})
    comparison = fields.String(required=True, metadata={"example": ">="})
    target_year = fields.Integer(allow_none=True, required=True, metadata={"example": 2025})
    quote = fields.String(required=True)
    actual = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "Current value (percent, decimal string) where the system knows it",
            "example": "87.50",
        },
    )
    numerator = fields.Integer(allow_none=True, required=True, metadata={"example": 7})
    denominator = fields.Integer(allow_none=True, required=True, metadata={"example": 8})
    as_of = fields.String(allow_none=True, required=True, metadata={"example": "2024-12-31"})
    basis = fields.String(allow_none=True, required=True, metadata={"description": "How the value was computed"})
    source = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "register | indicators | indicators+register", "example": "indicators"},
    )
    met = fields.Boolean(allow_none=True, required=True, metadata={"example": False})
    level = fields.String(allow_none=True, metadata={"enum": ["province", "district", "commune"]})
    reported = fields.Integer(allow_none=True, metadata={"description": "Stations (or centres) with a value"})
    expected = fields.Integer(allow_none=True, metadata={"description": "Stations (or centres) counted"})
    by_unit = fields.List(fields.Nested(contract.TargetByUnit), metadata={"description": "The value one level down"})
    misses = fields.List(fields.Nested(contract.TargetMiss), metadata={"description": "Who misses it, and why"})
    money = fields.Nested(Money, required=True)


class PlanTargets(Parts):
    plan_id = fields.Integer(required=True, metadata={"example": 2})
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2024})
    unit = fields.String(allow_none=True, required=True, metadata={"example": None})
    items = fields.List(fields.Nested(TargetRow), required=True)
