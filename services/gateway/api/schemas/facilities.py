"""Request and response schemas of api/facilities.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.gateway.application.facilities import KINDS


class FacilityOut(Schema):
    code = fields.String(required=True, metadata={"example": "91001"})
    name = fields.String(required=True, metadata={"example": "Trạm Y tế xã Vĩnh Thuận"})
    unit = fields.String(required=True, metadata={"example": "31060"})
    kind = fields.String(required=True, validate=validate.OneOf(KINDS), metadata={"example": "station"})
    created_at = fields.String(required=True, metadata={"example": "2024-07-15T08:30:12+00:00"})
    created_by = fields.String(required=True, metadata={"example": "token:admin"})


class FacilityList(Schema):
    items = fields.List(fields.Nested(FacilityOut), required=True)


class FacilityQuery(Schema):
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"), metadata={"example": "910"})
