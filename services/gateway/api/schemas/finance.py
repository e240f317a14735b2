"""Request and response schemas of api/finance.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.contracts.fields import Id, Year


class AllocationFilter(Schema):
    """Which allocations: GET /api/v1/allocations and its Excel download."""

    plan_id = Id()
    item_code = fields.String(validate=validate.Length(max=20), metadata={"description": "sub-items included"})
    year = Year(metadata={"description": "fiscal year"})
    unit = fields.String(
        validate=validate.Length(max=10),
        metadata={"description": "recipients within this unit, or merged into a unit within it by today"},
    )
    source = fields.String(validate=validate.Length(max=40))
    kind = fields.String(validate=validate.Length(max=20))
    parent_id = Id()
    level = fields.String(
        validate=validate.OneOf(("province", "district", "commune")),
        metadata={"description": "the recipient's level: province, district or commune"},
    )
    decision_no = fields.String(
        validate=validate.Length(min=1, max=80),
        metadata={"description": "the decision's number as recorded (spaces around it aside)", "example": "12/QĐ-UBND"},
    )
    year_end_due = fields.Boolean(
        metadata={
            "description": "only allocations of a fiscal year already over that still hold money no carry-over or "
            "close has decided (their `remaining`); the answer adds `remaining_total`"
        }
    )


class AllocationQuery(AllocationFilter):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class YearEndRecord(Schema):
    """A year-end record (chuyển nguồn or quyết toán), or a reversal of one, with its allocation as it now is."""

    id = fields.Integer(metadata={"example": 7})
    allocation_id = fields.Integer(metadata={"example": 12})
    kind = fields.String(metadata={"description": "carry_over | close", "example": "carry_over"})
    amount = fields.Integer(metadata={"description": "VND; negative on a reversal", "example": 150_000_000})
    date = fields.Date(metadata={"example": "2024-01-15"})
    decision_no = fields.String(metadata={"example": "12/QĐ-SYT"})
    decision_date = fields.Date(metadata={"example": "2024-01-10"})
    recorded_by = fields.String(allow_none=True, metadata={"example": "ketoan"})
    note = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True, metadata={"description": "the record a reversal undoes"})
    allocation = fields.Dict(metadata={"description": "the allocation after the record (AllocationViewV1)"})


class TemplateQuery(Schema):
    plan_id = Id(required=True, metadata={"description": "the plan the allocations are booked to", "example": 1})


class ImportQuery(Schema):
    plan_id = Id(metadata={"description": "when given, must be the plan written in the sheet (cell B2)"})


class DisbursementTemplateQuery(TemplateQuery):
    year = Year(metadata={"description": "only the allocations of this fiscal year are offered"})


class ImportedRow(Schema):
    row = fields.Integer(metadata={"description": "the sheet's row number", "example": 5})
    id = fields.Integer(metadata={"description": "the allocation the row is", "example": 31})
    status = fields.String(metadata={"description": "recorded | already_recorded", "example": "recorded"})


class AllocationImport(Schema):
    """What an import of the allocation template recorded: each row's allocation, new or already there."""

    recorded = fields.Integer(metadata={"description": "rows recorded as new allocations", "example": 12})
    already_recorded = fields.Integer(
        metadata={"description": "rows finance already held (the sheet sent again): not recorded twice", "example": 0}
    )
    rows = fields.List(fields.Nested(ImportedRow))


class ImportedPayment(ImportedRow):
    id = fields.Integer(metadata={"description": "the disbursement the row is", "example": 88})


class DisbursementImport(AllocationImport):
    """What an import of the disbursement template recorded: each row's disbursement, new or already there."""

    recorded = fields.Integer(metadata={"description": "rows recorded as new disbursements", "example": 40})
    already_recorded = fields.Integer(
        metadata={"description": "vouchers finance already held (the sheet sent again): not paid twice", "example": 0}
    )
    rows = fields.List(fields.Nested(ImportedPayment))
