"""Request and response schemas of api/yearly.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.contracts.fields import Year
from services.gateway.application.yearly import SectionsIn, SubmissionIn

__all__ = ["DocxQuery", "SectionsIn", "StatusQuery", "SubmissionIn"]


class DocxQuery(Schema):
    year = Year(required=True, metadata={"example": 2024})
    unit = fields.String(
        validate=validate.Regexp(r"^[0-9]{2,5}$"),
        metadata={
            "description": "The unit reporting (its figures only); the caller's own by default",
            "example": "910",
        },
    )


class StatusQuery(Schema):
    year = Year(required=True, metadata={"example": 2024})
