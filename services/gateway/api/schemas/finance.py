"""Request and response schemas of api/finance.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.contracts.fields import Id, Year


class AllocationQuery(Schema):
    plan_id = Id()
    item_code = fields.String(validate=validate.Length(max=20), metadata={"description": "sub-items included"})
    year = Year(metadata={"description": "fiscal year"})
    unit = fields.String(validate=validate.Length(max=10), metadata={"description": "recipients within this unit"})
    source = fields.String(validate=validate.Length(max=40))
    kind = fields.String(validate=validate.Length(max=20))
    parent_id = Id()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
