"""OpenAPI 3.1 generated from the route table and the same marshmallow schemas the views load with.

Views describe themselves with `@doc(query=..., body=..., response=..., status=...)`; their docstring's
first line is the summary, the rest the description. Every routed endpoint appears (the document cannot
drift from the app), every operation lists the errors the gateway itself may answer (401/403 from the
access policy, 400/404/422 for bad input, 409/413/415 for POST bodies, 503 for an unavailable service),
and every JSON body and answer carries an example: the view's own, or one derived from the schema
(field `metadata={"example": ...}`, then well-known field names, then the type).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app
from marshmallow import Schema

from services.common.contracts.fields import (
    BIDI_CONTROLS,
    DAYS_AHEAD,
    EARLIEST_DAY,
    VND,
    VND_LIMIT,
    Day,
    Money2,
    Text,
)
from services.gateway.application.access import policy_of

VERSION = "1.0.0"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "field": {"type": ["string", "null"], "description": "The field at fault, when there is one"},
                    "code": {"type": "string", "description": "Stable, machine-readable (snake_case)"},
                    "message": {"type": "string", "description": "For people, in Vietnamese"},
                    "successor": {
                        "type": ["string", "null"],
                        "description": "unit_not_in_force: the code of the unit that continues it on that date "
                        "(also successor_name, valid_to)",
                    },
                },
            },
        }
    },
    "example": {
        "errors": [
            {
                "field": "amount",
                "code": "exceeds_allocation",
                "message": "Tổng giải ngân vượt quá số đã phân bổ.",
            }
        ]
    },
}
ERROR_STATUSES = {
    "400": "Yêu cầu không hợp lệ (JSON hỏng, Idempotency-Key sai)",
    "401": "Thiếu hoặc sai mã truy cập",
    "403": "Vai trò hoặc đơn vị không được phép",
    "404": "Không tìm thấy",
    "409": "Xung đột (Idempotency-Key đang xử lý, đã tồn tại)",
    "413": "Nội dung quá lớn",
    "415": "Kiểu nội dung không được hỗ trợ",
    "422": "Dữ liệu không hợp lệ hoặc bị quy tắc nghiệp vụ từ chối",
    "429": "Quá nhiều lần thử",
    "503": "Một dịch vụ tạm thời không phản hồi",
}
# Examples for well-known field names, used when a schema gives none (only if they fit the schema).
EXAMPLES_BY_NAME: dict[str, Any] = {
    "plan_id": 1,
    "id": 1,
    "item_code": "II.5",
    "code": "II.5",
    "parent_code": "II",
    "source": "provincial_budget",
    "fiscal_year": 2024,
    "year": 2024,
    "recipient_unit": "910",
    "unit": "910",
    "district": "910",
    "station_code": "31060",
    "facility_code": "91001",
    "facility": "91001",
    "period": "2024-Q3",
    "amount": 500_000_000,
    "allocated": 1_200_000_000,
    "disbursed": 450_000_000,
    "estimated_cost": 3_500_000_000,
    "decision_no": "125/QĐ-UBND",
    "decision_date": "2024-03-15",
    "date": "2024-07-15",
    "reference": "UNC 0457",
    "number": "158/KH-UBND",
    "title": "Tiếp tục đầu tư để hoàn thiện, nâng cao năng lực hệ thống y tế cơ sở",
    "name": "Trạm Y tế xã Vĩnh Thuận",
    "username": "ketoan.vinhthuan",
    "role": "finance",
    "actor": "user:ketoan.vinhthuan",
    "request_id": "5f0c2a9e41b34c8d9a7e0f1b2c3d4e5f",
    "ma_lk": "000123",
    "severity": "warning",  # the claims rulebook (GET /api/v1/claims/rules)
    "basis": "QĐ 130/QĐ-BYT, sửa đổi bởi QĐ 4750/QĐ-BYT Bảng 1",
    "page": 1,
    "per_page": 50,
    "total": 1,
}
# Free text (contracts.fields.Text) as a JSON Schema pattern: any character but a bidi control.
BIDI_FREE = "^[^" + "".join(f"\\u{ord(c):04x}" for c in sorted(BIDI_CONTROLS)) + "]*$"
_HEADER_REQUEST_ID = {
    "description": "The request id (also in the logs and the audit log)",
    "schema": {"type": "string"},
}


def doc(
    query: type[Schema] | Schema | None = None,
    body: type[Schema] | Schema | dict[str, Any] | None = None,
    response: type[Schema] | Schema | dict[str, Any] | None = None,
    status: int = 200,
    content_type: str = "application/json",
    example: Any = None,
    body_example: Any = None,
    response_content_type: str = "application/json",
    responses: dict[int, str | tuple[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Describe a view for the OpenAPI document.

    query/body/response: marshmallow schemas (classes or instances, `many=True` for lists) or a raw JSON
    schema dict; `status`: the success status; `example` / `body_example`: explicit examples (else derived);
    `response_content_type`: e.g. the Excel media type for downloads (no JSON schema then);
    `responses`: further statuses this view answers: a description (the error shape), or (description, schema).
    """

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.ytcs_doc = {  # type: ignore[attr-defined]
            "query": query,
            "body": body,
            "response": response,
            "status": status,
            "content_type": content_type,
            "example": example,
            "body_example": body_example,
            "response_content_type": response_content_type,
            "responses": responses or {},
        }
        return view

    return mark


def doc_sheet_upload(
    response: type[Schema] | None = None, query: type[Schema] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`doc` of a filled-in Excel template sent back: the .xlsx as the body (its own media type or
    application/octet-stream; the view reads the bytes either way) or a multipart form field `file`, refused
    whole with every bad cell named."""
    return doc(
        query=query,
        content_type="application/octet-stream",
        body={"type": "string", "format": "binary"},
        response=response,
        responses={422: "Mỗi ô sai được nêu (dòng, cột, lý do); không ghi gì"},
    )


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for conv, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule):
        if conv == "int":
            schema: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
        else:
            schema = {"type": "string", "minLength": 1}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule), params


def _register_fields(plugin: MarshmallowPlugin) -> None:
    # Claim amounts: decimal strings with at most 2 places on the wire (never floats).
    plugin.map_to_openapi_type(Money2, "string", None)

    def money(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(field, Money2):
            return {"pattern": r"^-?[0-9]+(\.[0-9]{1,2})?$", "example": "125000.00"}
        ret = kwargs.get("ret", {})
        if isinstance(field, VND):  # whole đồng, bounded (contracts.fields.VND_LIMIT), unless narrowed already
            bounds = {"minimum": -(VND_LIMIT - 1), "maximum": VND_LIMIT - 1}
            return {k: v for k, v in bounds.items() if k not in ret and f"exclusive{k.title()}" not in ret}
        if isinstance(field, Day):  # JSON Schema has no date bounds: say them (and name them for tools)
            window = f"From {EARLIEST_DAY.isoformat()} to one year after today ({DAYS_AHEAD} days); else 422 "
            window += "date_out_of_range."
            text = field.metadata.get("description")
            return {"description": f"{text}. {window}" if text else window, "x-earliest": EARLIEST_DAY.isoformat()}
        if isinstance(field, Text) and "pattern" not in ret:  # no bidi controls (422 bidi_control)
            return {"pattern": BIDI_FREE}
        return {}

    plugin.converter.add_attribute_function(money)


def build(app: Flask) -> dict[str, Any]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="YTCS Finance API",
        version=VERSION,
        openapi_version="3.1.0",
        plugins=[plugin],
        info={
            "description": (
                "Tài chính y tế cơ sở tỉnh Kiên Giang: kế hoạch, phân bổ, giải ngân, đầu tư trạm y tế, hồ sơ BHYT "
                "(QĐ 130/4750) và đối soát.\n\n"
                "- Authentication: `Authorization: Bearer <token>` on every `/api/` call (`ytcs token create`).\n"
                "- Money: budget and investment figures are whole VND integers; claim amounts are decimal strings "
                "with 2 places. Never floats. A whole-VND field also takes a string as people write it "
                '("1.000.000", "1 000 000 đ"); a fraction or an ambiguous grouping ("1000000.5", "1,5", '
                '"1.000.00") is 422 `invalid_amount`, never rounded.\n'
                "- Bounds: ids 1 … 2^63−1, years 2000 … 2100 (422 past them); dates people record from "
                "2015-01-01 to one year after today (422 `date_out_of_range`); free text without bidi control "
                "characters (422 `bidi_control`).\n"
                '- Errors: 4xx `{"errors": [{"field", "code", "message"}]}`, `message` in Vietnamese, '
                "`code` stable.\n"
                "- Every POST accepts an `Idempotency-Key` header: the same key again (same caller, same body) "
                "returns the first answer and writes nothing new (keys are kept 72 hours).\n"
                "- Funding answers name the parts they are made of (`parts`): when a service does not answer "
                "in time the answer is still 200 with `partial: true` and the missing part named."
            )
        },
        servers=[{"url": "/"}],
    )
    _register_fields(plugin)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Errors", ERROR_SCHEMA)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        policy = policy_of(app, rule.endpoint)
        meta = getattr(view, "ytcs_doc", {}) or {}
        path, path_params = _path(rule.rule)
        operations: dict[str, Any] = {}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operations[method.lower()] = _operation(rule.endpoint, method, view, policy, meta, path_params)
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    _finish(document)
    return document


def _operation(
    endpoint: str, method: str, view: Callable[..., Any], policy: Any, meta: dict[str, Any], path_params: list
) -> dict[str, Any]:
    lines = (view.__doc__ or endpoint).strip().splitlines()
    op: dict[str, Any] = {
        "operationId": f"{endpoint}.{method.lower()}",
        "summary": lines[0].strip(),
        "tags": [endpoint.split(".")[0]],
    }
    description = "\n".join(line.strip() for line in lines[1:]).strip()
    protected = bool(policy and not policy.public)
    if protected:
        op["security"] = [{"bearer": []}]
        description = (description + "\n\n" if description else "") + "Vai trò: " + ", ".join(policy.roles)
    else:
        op["security"] = []
    if description:
        op["description"] = description
    params = [dict(p) for p in path_params]
    if meta.get("query"):
        params.append({"in": "query", "schema": meta["query"]})
    if method == "POST":
        params.append(
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "description": "The same key again returns the first answer and writes nothing new",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                "example": "7d3f6c1e-2a9b-4c5d-8e7f-0a1b2c3d4e5f",
            }
        )
    if params:
        op["parameters"] = params
    if meta.get("body") is not None:
        media: dict[str, Any] = {"schema": meta["body"]}
        if meta.get("body_example") is not None:
            media["example"] = meta["body_example"]
        op["requestBody"] = {"required": True, "content": {meta["content_type"]: media}}
    ok: dict[str, Any] = {"description": "OK", "headers": {"X-Request-Id": _HEADER_REQUEST_ID}}
    status = str(meta.get("status", 200))
    response_type = meta.get("response_content_type", "application/json")
    if meta.get("response") is not None:
        media = {"schema": meta["response"]}
        if meta.get("example") is not None:
            media["example"] = meta["example"]
        ok["content"] = {response_type: media}
    elif response_type != "application/json":
        ok["content"] = {response_type: {"schema": {"type": "string", "format": "binary"}}}
    responses: dict[str, Any] = {status: ok}
    for code, described in (meta.get("responses") or {}).items():
        if isinstance(described, tuple):  # (description, schema): an answer of its own shape
            text, schema = described
            responses.setdefault(
                str(code),
                {
                    "description": text,
                    "headers": {"X-Request-Id": _HEADER_REQUEST_ID},
                    "content": {"application/json": {"schema": schema}},
                },
            )
        else:
            responses.setdefault(str(code), _error(described))
    wanted = ["400", "404", "422", "503"]
    if protected:
        wanted += ["401", "403"]
    if method in ("POST", "PUT", "PATCH"):
        wanted += ["409", "413", "415"]
    for code in sorted(wanted):
        responses.setdefault(code, _error(ERROR_STATUSES[code]))
    op["responses"] = dict(sorted(responses.items()))
    return op


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-Id": _HEADER_REQUEST_ID},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
    }


# --------------------------------------------------------------------------- post-processing


def _finish(document: dict[str, Any]) -> None:
    """Examples everywhere they are missing; answers may carry fields added later (additive changes)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    response_refs: set[str] = set()
    for item in document.get("paths", {}).values():
        for op in item.values():
            for param in op.get("parameters", []):
                if "example" not in param and "schema" in param:
                    param["example"] = example_for(param["schema"], components, param.get("name"))
            for media in op.get("requestBody", {}).get("content", {}).values():
                if "example" not in media and "schema" in media:
                    media["example"] = example_for(media["schema"], components)
            for response in op.get("responses", {}).values():
                for media_type, media in response.get("content", {}).items():
                    schema = media.get("schema")
                    if schema is None or media_type != "application/json":
                        continue
                    _collect_refs(schema, components, response_refs)
                    if "example" not in media and schema.get("$ref") != "#/components/schemas/Errors":
                        media["example"] = example_for(schema, components)
    # An answer may gain fields (the contract allows additions): do not forbid unknown properties in answers.
    for name in response_refs:
        components[name].pop("additionalProperties", None)


def _collect_refs(schema: Any, components: dict[str, Any], seen: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen and name in components:
                seen.add(name)
                _collect_refs(components[name], components, seen)
        for value in schema.values():
            _collect_refs(value, components, seen)
    elif isinstance(schema, list):
        for value in schema:
            _collect_refs(value, components, seen)


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        ok = "integer" in types or "number" in types
        lo, hi = schema.get("minimum"), schema.get("maximum")
        return ok and (lo is None or value >= lo) and (hi is None or value <= hi)
    if isinstance(value, str):
        if "string" not in types:
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        return schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**9)
    return False


def example_for(schema: Any, components: dict[str, Any], name: str | None = None, depth: int = 0) -> Any:
    """An example value that validates against `schema` (a JSON schema with component refs)."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    if "$ref" in schema:
        target = components.get(schema["$ref"].rsplit("/", 1)[1], {})
        return example_for(target, components, name, depth + 1)
    for key in ("example", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if schema.get("examples"):
        return copy.deepcopy(schema["examples"][0])
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("allOf", "oneOf", "anyOf"):
        if schema.get(key):
            return example_for(schema[key][0], components, name, depth + 1)
    if name in EXAMPLES_BY_NAME and _fits(EXAMPLES_BY_NAME[name], schema):
        return EXAMPLES_BY_NAME[name]
    types = schema.get("type")
    kind = next((t for t in ([types] if isinstance(types, str) else (types or [])) if t != "null"), None)
    if kind is None:
        kind = "object" if "properties" in schema else ("null" if types else None)
    if kind == "object":
        out = {}
        props = schema.get("properties", {})
        for prop, sub in props.items():
            out[prop] = example_for(sub, components, prop, depth + 1)
        extra = schema.get("additionalProperties")
        if not props and isinstance(extra, dict):
            out["2024"] = example_for(extra, components, None, depth + 1)
        return out
    if kind == "array":
        item = example_for(schema.get("items", {}), components, name, depth + 1)
        return [item] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        lo = schema.get("minimum")
        return int(lo) if lo is not None and lo > 1 else 1
    if kind == "number":
        return schema.get("minimum", 0.5)
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return "2024-07-15"
        if fmt == "date-time":
            return "2024-07-15T01:30:00+00:00"  # moments are answered in UTC (docs/api.md)
        if fmt == "binary":
            return None
        return "x" * max(1, schema.get("minLength", 1)) if schema.get("minLength") else "chuỗi"
    if kind == "null":
        return None
    return None


_CACHE: dict[int, dict[str, Any]] = {}


def spec() -> dict[str, Any]:
    """The document of the running app (built once per app: routes do not change after start)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    key = id(app)
    if key not in _CACHE:
        _CACHE[key] = build(app)
    return _CACHE[key]
