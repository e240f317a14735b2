"""Request and response schemas of api/capitation.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class FacilityPeriodQuery(Schema):
    facility = fields.String(required=True, validate=validate.Length(max=5), metadata={"description": "MA_CSKCB"})
    period = fields.String(required=True, metadata={"description": "YYYY-Qn"})


class FacilityQuery(Schema):
    facility = fields.String(required=True, validate=validate.Length(max=5), metadata={"description": "MA_CSKCB"})
