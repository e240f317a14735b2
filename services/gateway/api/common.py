"""Small helpers the API views share."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from marshmallow import Schema

from services.common.errors import DomainError


def ytcs() -> Any:
    return current_app.extensions["ytcs"]


def rpc(service: str, method: str, *args: Any, **kwargs: Any) -> Any:
    return ytcs().clients.call(service, method, *args, **kwargs)


def load_json(schema: Schema) -> dict[str, Any]:
    if not request.is_json:
        raise DomainError.one(
            "unsupported_media_type", "Nội dung phải là JSON (Content-Type: application/json).", None, 415
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError.one("invalid_json", "Nội dung JSON không hợp lệ (cần một đối tượng).", None, 400)
    return schema.load(data)


def load_args(schema: Schema) -> dict[str, Any]:
    return schema.load(request.args.to_dict())
