"""Request and response schemas of api/system.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

_STATE = fields.String(validate=validate.OneOf(["ok", "unavailable", "error"]))


class Health(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok", "degraded"]), metadata={"example": "ok"})
    services = fields.Dict(
        keys=fields.String(),
        values=_STATE,
        required=True,
        metadata={"example": {"finance": "ok", "claims": "ok", "investment": "ok"}},
    )
