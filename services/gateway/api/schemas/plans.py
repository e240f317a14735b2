"""Request and response schemas of api/plans.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields


class Period(Schema):
    from_ = fields.Integer(data_key="from", required=True, metadata={"example": 2018})
    to = fields.Integer(required=True, metadata={"example": 2025})


class PlanOut(Schema):
    id = fields.Integer(required=True, metadata={"example": 1})
    number = fields.String(required=True, metadata={"example": "158/KH-UBND"})
    date = fields.Date(required=True, metadata={"example": "2018-10-22"})
    title = fields.String(required=True)
    issuer = fields.String(required=True, metadata={"example": "UBND tỉnh Kiên Giang"})
    level = fields.String(required=True, metadata={"example": "province", "enum": ["province", "district"]})
    unit = fields.String(required=True, metadata={"example": "91"})
    parent_id = fields.Integer(allow_none=True, required=True, metadata={"example": None})
    period = fields.Nested(Period, required=True)


class PlanList(Schema):
    items = fields.List(fields.Nested(PlanOut), required=True)


class TargetOut(Schema):
    key = fields.String(required=True, metadata={"example": "stations_bhyt_eligible"})
    indicator = fields.String(required=True)
    value = fields.Float(allow_none=True, required=True, metadata={"example": 100})
    unit = fields.String(required=True, metadata={"example": "percent"})
    comparison = fields.String(required=True, metadata={"example": ">="})
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2025})
    quote = fields.String(required=True)


class ItemOut(Schema):
    code = fields.String(required=True, metadata={"example": "II.4"})
    title = fields.String(required=True)
    parent_code = fields.String(allow_none=True, required=True, metadata={"example": "II"})
    kind = fields.String(required=True, metadata={"example": "task"})
    text = fields.String(required=True)
    lead_agency = fields.String(allow_none=True, metadata={"example": "Sở Y tế"})
    co_agencies = fields.List(fields.String(), metadata={"example": ["Bảo hiểm xã hội tỉnh"]})
    targets = fields.List(fields.Nested(TargetOut))


class ItemList(Schema):
    items = fields.List(fields.Nested(ItemOut), required=True)
