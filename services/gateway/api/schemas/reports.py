"""Query schemas of the Excel downloads (api/reports.py)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ReportQuery(Schema):
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "Fiscal year of the report; all years when absent", "example": 2024},
    )
    unit = fields.String(
        validate=validate.Regexp(r"^[0-9]{2,5}$"),
        metadata={"description": "Only money received within this unit; the caller's own by default", "example": "910"},
    )
