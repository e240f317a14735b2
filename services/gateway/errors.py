"""Every failure answers JSON `{"errors": [{"field", "code", "message"}]}` with a Vietnamese message;
bad input is a 4xx, never a 500."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from services.common.errors import DomainError
from services.gateway.clients import Unavailable

log = logging.getLogger(__name__)

REQUIRED = "Thiếu trường bắt buộc."
HTTP_MESSAGES = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    404: ("not_found", "Không tìm thấy địa chỉ này."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ ở địa chỉ này."),
    413: ("payload_too_large", "Nội dung gửi lên quá lớn."),
    415: ("unsupported_media_type", "Kiểu nội dung không được hỗ trợ."),
}


def body(errors: list[dict[str, Any]], status: int) -> tuple[Any, int]:
    return jsonify({"errors": errors}), status


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(messages: Any, prefix: str) -> None:
        if isinstance(messages, dict):
            for key, value in messages.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(messages, list):
            for m in messages:
                if isinstance(m, (dict, list)):
                    walk(m, prefix)
                    continue
                text = str(m)
                if text == REQUIRED or text == "Missing data for required field.":
                    out.append({"field": prefix or None, "code": "required", "message": REQUIRED})
                elif text == "Unknown field.":
                    out.append(
                        {"field": prefix or None, "code": "unknown_field", "message": "Trường không được hỗ trợ."}
                    )
                else:
                    out.append({"field": prefix or None, "code": "invalid", "message": text})

    walk(exc.messages, "")
    return out


def install(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain(exc: DomainError) -> Any:
        return body(exc.errors, exc.status)

    @app.errorhandler(ValidationError)
    def invalid(exc: ValidationError) -> Any:
        return body(validation_errors(exc), 422)

    @app.errorhandler(Unavailable)
    def unavailable(exc: Unavailable) -> Any:
        msg = f"Dịch vụ {exc.service} tạm thời không phản hồi ({exc.reason}). Vui lòng thử lại sau."
        return body([{"field": None, "code": "service_unavailable", "message": msg, "service": exc.service}], 503)

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException) -> Any:
        code, message = HTTP_MESSAGES.get(exc.code or 500, ("http_error", exc.description or ""))
        if not request.path.startswith("/api/") and exc.code == 404:
            return exc
        return body([{"field": None, "code": code, "message": message}], exc.code or 500)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return body([{"field": None, "code": "internal_error", "message": "Lỗi hệ thống; đã ghi nhận để xử lý."}], 500)
