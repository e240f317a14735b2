"""Small helpers the API views share: inputs through marshmallow schemas, RPC, paging."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

from flask import Response, request
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate
from openpyxl import Workbook

from services.common.errors import DomainError
from services.gateway.application.remote import rpc, ytcs

__all__ = [
    "MAX_PER_PAGE",
    "XLSX",
    "xlsx_download",
    "Lenient",
    "PageInfo",
    "PageQuery",
    "load_args",
    "load_form",
    "load_json",
    "rpc",
    "ytcs",
]

MAX_PER_PAGE = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _exact_number(text: str) -> Decimal:
    """A JSON number with a fraction or an exponent, read exactly (never a float). One past ±10^1000 is refused
    here: turning 1e1000000 into an integer would take a worker tens of seconds."""
    number = Decimal(text)
    if number.is_finite() and abs(number.adjusted()) > 1000:
        raise _NumberTooLarge(text[:20])
    return number


class _NumberTooLarge(ValueError):
    pass


def json_body() -> Any:
    """The request's JSON body, or None when it is not JSON at all. Numbers with a fraction or an exponent are
    read as Decimal, never float: capitation coefficients are exact, and 148670257.0 is the whole amount
    148,670,257 đ (an integer by the OpenAPI document's JSON Schema), 148670257.5 a fraction of a đồng. A
    number past ±10^1000 is 422; nesting deeper than the parser recurses is not JSON we read (None)."""
    try:
        return json.loads(request.get_data(cache=True), parse_float=_exact_number)
    except _NumberTooLarge as exc:
        raise DomainError.one("out_of_range", f"Số {exc}… quá lớn hoặc quá nhỏ.", None, 422) from exc
    except (ValueError, RecursionError):
        return None


def load_json(schema: Schema) -> dict[str, Any]:
    """The JSON object body (`json_body`), loaded (and validated) by `schema`: 415 for another media type, 400
    when it is not a JSON object, 413 when too large, 422 naming each bad field."""
    if not request.is_json:
        raise DomainError.one(
            "unsupported_media_type", "Nội dung phải là JSON (Content-Type: application/json).", None, 415
        )
    data = json_body()
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


def uploaded_workbook() -> bytes:
    """A filled-in template sent to the API: the form field `file`, or else the body itself (an .xlsx with its
    own media type or application/octet-stream)."""
    upload = request.files.get("file")
    return upload.read() if upload is not None else request.get_data(cache=False)


def xlsx_download(book: Workbook, filename: str) -> Response:
    """An Excel workbook as a download, never cached (it holds the figures of the moment)."""
    buf = io.BytesIO()
    book.save(buf)
    return Response(
        buf.getvalue(),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


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
