"""Small helpers the API views share: inputs through marshmallow schemas, RPC, paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from services.common.errors import DomainError

MAX_PER_PAGE = 500


def ytcs() -> Any:
    return current_app.extensions["ytcs"]


def rpc(service: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """One call to a service; its DomainError answers 4xx, an unavailable service 503."""
    return ytcs().clients.call(service, method, *args, **kwargs)


def load_json(schema: Schema) -> dict[str, Any]:
    """The JSON object body, loaded (and validated) by `schema`: 415 for another media type, 400 when
    it is not a JSON object, 413 when too large, 422 naming each bad field."""
    if not request.is_json:
        raise DomainError.one(
            "unsupported_media_type", "Nội dung phải là JSON (Content-Type: application/json).", None, 415
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError.one("invalid_json", "Nội dung JSON không hợp lệ (cần một đối tượng).", None, 400)
    return _load(schema, data)


def _load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """`schema.load`, where a field that trips over a value (an arithmetic or type error inside a
    deserializer) is still the input's fault: a named 422, not a 500."""
    try:
        return schema.load(data)
    except (ArithmeticError, TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise DomainError.one("invalid", "Dữ liệu không hợp lệ (giá trị không đọc được).", None, 422) from exc


def load_args(schema: Schema) -> dict[str, Any]:
    """Query parameters, loaded by `schema`; a parameter given twice is refused rather than half-read."""
    args = request.args
    repeated = [k for k in args if len(args.getlist(k)) > 1 and not isinstance(schema.fields.get(k), fields.List)]
    if repeated:
        raise DomainError.one("repeated_parameter", f"Tham số {repeated[0]} chỉ được ghi một lần.", repeated[0], 422)
    data: dict[str, Any] = {}
    for key in args:
        data[key] = args.getlist(key) if isinstance(schema.fields.get(key), fields.List) else args[key]
    return _load(schema, data)


def load_form(schema: Schema) -> dict[str, Any]:
    """An HTML form (application/x-www-form-urlencoded or multipart) loaded by `schema`."""
    return _load(schema, request.form.to_dict())


def streamed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose body is streamed to storage (claim files): no 1 MB limit, and its Idempotency-Key
    names the request by itself (the body is not read twice to hash it)."""
    view.ytcs_streamed = True  # type: ignore[attr-defined]
    return view


class PageQuery(Schema):
    """`page` (from 1) and `per_page` (at most 500): every paged list takes them."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageInfo(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class Lenient(Schema):
    """For forms rendered by pages that may carry extra fields (a CSRF token)."""

    class Meta:
        unknown = INCLUDE
