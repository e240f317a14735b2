"""Request and response schemas of api/auth.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from services.gateway import accounts


class Credentials(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80), metadata={"example": "ketoan"})
    password = fields.String(
        required=True, validate=validate.Length(min=1, max=accounts.MAX_PASSWORD), metadata={"example": "mật-khẩu-dài"}
    )


class LoginForm(Credentials):
    """The pages' form may carry more (a CSRF token, where to go next): extra fields are ignored."""

    next = fields.String(validate=validate.Length(max=500), metadata={"example": "/"})

    class Meta:
        unknown = EXCLUDE


class Me(Schema):
    name = fields.String(required=True, metadata={"example": "user:ketoan.vinhthuan"})
    role = fields.String(required=True, validate=validate.OneOf(accounts.ROLES), metadata={"example": "finance"})
    unit = fields.String(allow_none=True, required=True, metadata={"example": "910"})
    kind = fields.String(required=True, validate=validate.OneOf(["token", "user"]), metadata={"example": "user"})
    sees_personal_data = fields.Boolean(required=True, metadata={"example": False})


class SessionOut(Schema):
    user = fields.Nested(Me, required=True)


class LogoutForm(Schema):
    csrf_token = fields.String(validate=validate.Length(max=500), metadata={"example": "IjQ1Zj…"})

    class Meta:
        unknown = EXCLUDE
