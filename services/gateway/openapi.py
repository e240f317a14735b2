"""OpenAPI 3 generated from the route table and the same marshmallow schemas the views load with.

Views describe themselves with `@doc(query=..., body=..., response=..., status=...)`; their docstring's
first line is the summary. Every routed endpoint appears, so the document cannot drift from the app.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app
from marshmallow import Schema

from services.gateway.access import policy_of

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
                    "field": {"type": ["string", "null"]},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        }
    },
}


def doc(
    query: type[Schema] | None = None,
    body: type[Schema] | None = None,
    response: type[Schema] | dict[str, Any] | None = None,
    status: int = 200,
    content_type: str = "application/json",
    example: dict[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.ytcs_doc = {  # type: ignore[attr-defined]
            "query": query,
            "body": body,
            "response": response,
            "status": status,
            "content_type": content_type,
            "example": example,
        }
        return view

    return mark


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule):
        params.append(
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer" if conv == "int" else "string"}}
        )
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), params


@cache
def _build(app_id: int) -> dict[str, Any]:  # noqa: ARG001 - cache key per app
    app = current_app
    spec = APISpec(
        title="YTCS Finance API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Tài chính y tế cơ sở tỉnh Kiên Giang: kế hoạch, phân bổ, giải ngân, đầu tư trạm y tế, "
            "hồ sơ BHYT (QĐ 130/4750) và đối soát. Money: whole VND integers; claim amounts decimal strings."
        },
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Errors", ERROR_SCHEMA)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        policy = policy_of(app, rule.endpoint)
        meta = getattr(view, "ytcs_doc", {}) or {}
        path, path_params = _path(rule.rule)
        operations: dict[str, Any] = {}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            summary = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
            op: dict[str, Any] = {"operationId": f"{rule.endpoint}.{method.lower()}", "summary": summary}
            if policy and policy.roles:
                op["security"] = [{"bearer": []}]
                op["description"] = "Vai trò: " + ", ".join(policy.roles)
            params = list(path_params)
            if meta.get("query"):
                params.append({"in": "query", "schema": meta["query"]})
            if method == "POST":
                params.append(
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                    }
                )
            if params:
                op["parameters"] = params
            if meta.get("body"):
                op["requestBody"] = {"required": True, "content": {meta["content_type"]: {"schema": meta["body"]}}}
            ok: dict[str, Any] = {"description": "OK"}
            if meta.get("response") is not None:
                ok["content"] = {"application/json": {"schema": meta["response"]}}
                if meta.get("example"):
                    ok["content"]["application/json"]["example"] = meta["example"]
            responses: dict[str, Any] = {str(meta.get("status", 200)): ok}
            err = {
                "description": "Lỗi",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
            }
            if policy and policy.roles:
                responses["401"] = err
                responses["403"] = err
            responses["422"] = err
            op["responses"] = responses
            operations[method.lower()] = op
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def spec() -> dict[str, Any]:
    return _build(id(current_app._get_current_object()))  # type: ignore[attr-defined]
