"""Request and response schemas of api/stations.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class StationQuery(Schema):
    unit = fields.String(validate=validate.Length(max=10))
    at = fields.Date(metadata={"description": "Only stations in force on this date"})
    history = fields.Boolean(load_default=False, metadata={"description": "Every version, merged ones included"})


class StationAtQuery(Schema):
    at = fields.Date(metadata={"description": "Which version of a reused commune code (default: today's)"})


class YearQuery(Schema):
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100, error="Năm phải từ 2000 đến 2100."),
        error_messages={"invalid": "Năm phải là số nguyên."},
    )


class StationStatusOut(Schema):
    id = fields.Integer(required=True)
    attribute = fields.String(required=True)
    value = fields.Raw(required=True)
    year = fields.Integer(required=True)
    current = fields.Raw()
    criteria_reached = fields.Boolean()
