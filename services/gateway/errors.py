"""Every failure answers JSON `{"errors": [{"field", "code", "message"}]}` with a Vietnamese message;
bad input is a 4xx, never a 500 (a 500 means a bug, logged with its request id).

The one place where failures become answers: `remote_failure` turns what a nameko call raised into a
refusal (the services' DomainError kinds: DomainError 422, NotFound 404, Conflict 409, Malformed 400, each
carrying its status) or `Unavailable` (timeout, unknown service or method, a remote crash, a lost broker);
`failure` turns a refusal, a validation error or an unavailable service into (errors, status, headers), for
the API's error handlers (`install`) and the pages (web/common.py) alike.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, make_response, request
from marshmallow import ValidationError
from nameko.exceptions import (
    BadRequest,
    MethodNotFound,
    RemoteError,
    RpcTimeout,
    UnknownService,
    deserialize_to_instance,
)
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from services.common.errors import SERVICE_NAMES, Conflict, DomainError, Malformed, NotFound

log = logging.getLogger(__name__)

REQUIRED = "Thiếu trường bắt buộc."
HTTP_MESSAGES = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("unauthorized", "Cần đăng nhập hoặc mã truy cập (Bearer token) hợp lệ."),
    403: ("forbidden", "Không được phép."),
    404: ("not_found", "Không tìm thấy địa chỉ này."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ ở địa chỉ này."),
    406: ("not_acceptable", "Không có dạng trả lời phù hợp với yêu cầu."),
    408: ("request_timeout", "Gửi yêu cầu quá lâu."),
    411: ("length_required", "Cần khai báo độ dài nội dung (Content-Length)."),
    413: ("payload_too_large", "Nội dung gửi lên quá lớn."),
    414: ("uri_too_long", "Địa chỉ quá dài."),
    415: ("unsupported_media_type", "Kiểu nội dung không được hỗ trợ."),
    429: ("too_many_requests", "Quá nhiều yêu cầu; vui lòng thử lại sau."),
    431: ("headers_too_large", "Phần đầu yêu cầu quá lớn."),
}
# marshmallow's English messages for the errors people meet most, in Vietnamese.
MARSHMALLOW_MESSAGES = {
    "Not a valid integer.": "Phải là số nguyên.",
    "Not a valid number.": "Phải là số.",
    "Not a valid string.": "Phải là chuỗi ký tự.",
    "Not a valid boolean.": "Phải là true hoặc false.",
    "Not a valid date.": "Ngày không hợp lệ (dạng YYYY-MM-DD).",
    "Not a valid datetime.": "Thời điểm không hợp lệ (ISO 8601).",
    "Not a valid list.": "Phải là một danh sách.",
    "Not a valid mapping type.": "Phải là một đối tượng JSON.",
    "Invalid input type.": "Kiểu dữ liệu không hợp lệ.",
    "Field may not be null.": "Trường này không được để trống (null).",
    "Invalid value.": "Giá trị không hợp lệ.",
}


# marshmallow's range and length messages (validate.Range / validate.Length defaults), read back into numbers.
_RANGE = [
    (
        re.compile(r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
        "Giá trị phải từ {0} đến {1}.",
    ),
    (re.compile(r"Must be greater than (\S+) and less than (\S+)\.$"), "Giá trị phải lớn hơn {0} và nhỏ hơn {1}."),
    (re.compile(r"Must be greater than or equal to (\S+)\.$"), "Giá trị phải từ {0} trở lên."),
    (re.compile(r"Must be greater than (\S+)\.$"), "Giá trị phải lớn hơn {0}."),
    (re.compile(r"Must be less than or equal to (\S+)\.$"), "Giá trị tối đa là {0}."),
    (re.compile(r"Must be less than (\S+)\.$"), "Giá trị phải nhỏ hơn {0}."),
]
_LENGTH = [
    (re.compile(r"Length must be between (\d+) and (\d+)\.$"), "Độ dài phải từ {0} đến {1} ký tự."),
    (re.compile(r"Length must be (\d+)\.$"), "Độ dài phải đúng {0} ký tự."),
    (re.compile(r"Shorter than minimum length (\d+)\.$"), "Cần ít nhất {0} ký tự."),
    (re.compile(r"Longer than maximum length (\d+)\.$"), "Dài quá {0} ký tự."),
]
# How the pages name a field next to its message (the API answers keep `field`, the technical name).
FIELD_LABELS = {
    "amount": "Số tiền",
    "date": "Ngày",
    "decision_no": "Số quyết định",
    "decision_date": "Ngày quyết định",
    "reference": "Chứng từ",
    "note": "Ghi chú",
    "plan_id": "Kế hoạch",
    "plan": "Kế hoạch",
    "item_code": "Mục",
    "item": "Mục",
    "source": "Nguồn kinh phí",
    "fiscal_year": "Năm ngân sách",
    "fund_year": "Năm quỹ BHYT",
    "recipient_unit": "Đơn vị nhận",
    "parent_allocation_id": "Phân bổ cấp trên",
    "parent": "Phân bổ cấp trên",
    "kind": "Loại",
    "facility_code": "Cơ sở KCB",
    "facility": "Cơ sở KCB",
    "period": "Kỳ",
    "cards": "Số thẻ",
    "rate_per_card": "Mức định suất mỗi thẻ",
    "coefficient": "Hệ số",
    "groups": "Nhóm thẻ",
    "group": "Nhóm thẻ",
    "station_share_rate": "Tỷ lệ chia cho trạm",
    "file": "Tệp",
    "items": "Hồ sơ",
    "ma_lk": "Mã liên kết hồ sơ",
    "approved_amount": "Số tiền được duyệt",
    "reason_code": "Lý do",
    "station_code": "Trạm y tế",
    "code": "Mã",
    "title": "Tên dự án",
    "estimated_cost": "Tổng mức đầu tư",
    "settled_cost": "Giá trị quyết toán",
    "start_year": "Năm bắt đầu",
    "end_year": "Năm kết thúc",
    "status": "Trạng thái",
    "effective_date": "Ngày hiệu lực",
    "completed_on": "Ngày hoàn thành",
    "attribute": "Thuộc tính",
    "value": "Giá trị",
    "station_valid_from": "Phiên bản trạm (ngày hiệu lực)",
    "year": "Năm",
    "unit": "Đơn vị",
    "page": "Trang",
    "per_page": "Số dòng mỗi trang",
    "id": "Số hiệu",
    "severity": "Mức độ",
    "username": "Tên đăng nhập",
}
# Labels of the login form's fields, not secrets.
FIELD_LABELS["csrf_token"] = "Mã bảo vệ biểu mẫu"  # noqa: S105  # nosec B105
FIELD_LABELS["password"] = "Mật khẩu"  # noqa: S105  # nosec B105


def service_name(service: str) -> str:
    """The service as people know it (common.errors.SERVICE_NAMES; the technical name stays in `service`)."""
    return SERVICE_NAMES.get(service, service)


def field_label(field: str | None) -> str:
    """'decision_date' -> 'Ngày quyết định'; 'items.0.approved_amount' -> 'Số tiền được duyệt (dòng 1)';
    a field without a label stays as it is (it is still better than no hint)."""
    if not field:
        return ""
    parts = field.split(".")
    rows = [str(int(p) + 1) for p in parts if p.isdigit()]
    name = next((p for p in reversed(parts) if not p.isdigit()), field)
    if name.startswith("approved__"):  # the claims page's per-record inputs
        return f"Số tiền được duyệt (hồ sơ {name.removeprefix('approved__')})"
    text = FIELD_LABELS.get(name, name)
    return f"{text} (dòng {', '.join(rows)})" if rows else text


def with_labels(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The errors as a page shows them: each with its Vietnamese `label` (the field's name stays for the log)."""
    return [{**e, "label": field_label(e.get("field"))} for e in errors]


def body(errors: list[dict[str, Any]], status: int) -> tuple[Any, int]:
    return jsonify({"errors": errors}), status


def _vietnamese(text: str) -> tuple[str, str]:
    """(code, message) for one marshmallow message; our own fields already speak Vietnamese (and may carry
    their code: contracts.fields.Coded)."""
    code = getattr(text, "code", None)
    if code:
        return code, str(text)
    if text in (REQUIRED, "Missing data for required field."):
        return "required", REQUIRED
    if text == "Unknown field.":
        return "unknown_field", "Trường không được hỗ trợ."
    if text in MARSHMALLOW_MESSAGES:
        return "invalid_type", MARSHMALLOW_MESSAGES[text]
    if text.startswith("Must be one of:"):
        return "invalid_choice", "Giá trị phải là một trong: " + text.removeprefix("Must be one of:").strip()
    for pattern, message in _RANGE:
        if m := pattern.match(text):
            return "out_of_range", message.format(*m.groups())
    for pattern, message in _LENGTH:
        if m := pattern.match(text):
            return "invalid_length", message.format(*m.groups())
    if text.startswith("String does not match expected pattern"):
        return "invalid_format", "Sai định dạng."
    if text.isascii():  # a library's English message nobody translated: people get Vietnamese, the log the text
        log.info("untranslated validation message: %s", text)
        return "invalid", "Giá trị không hợp lệ."
    return "invalid", text


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
                code, message = _vietnamese(m if isinstance(m, str) else str(m))
                out.append({"field": prefix or None, "code": code, "message": message})
        else:
            code, message = _vietnamese(messages if isinstance(messages, str) else str(messages))
            out.append({"field": prefix or None, "code": code, "message": message})

    walk(exc.messages, "")
    return out or [{"field": None, "code": "invalid", "message": "Dữ liệu không hợp lệ."}]


# --------------------------------------------------------------------------- failures of a remote call

# The services' refusals cross RPC as themselves (the services register them in services.common.messaging,
# which the gateway does not import): unregistered, a 422 arrived as a RemoteError and was answered 503.
REFUSALS = (DomainError, NotFound, Conflict, Malformed)
for _kind in REFUSALS:
    deserialize_to_instance(_kind)


class Unavailable(Exception):
    """A service did not answer in time, is not running, or failed on the call.

    `kind`: timeout | unknown_service | broker | method_not_found | error."""

    def __init__(self, service: str, reason: str, kind: str = "error") -> None:
        super().__init__(service, reason)
        self.service = service
        self.reason = reason
        self.kind = kind


BROKER_UNREACHABLE = "không kết nối được RabbitMQ"


def remote_failure(service: str, method: str, exc: BaseException) -> DomainError | Unavailable:
    """What a call to `service.method` raised, as the gateway answers it: the service's refusal as it is, any
    other failure as `Unavailable` of that service (`kind` says which, for the logs and partial answers)."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, RpcTimeout):
        return Unavailable(service, "dịch vụ không trả lời kịp", "timeout")
    if isinstance(exc, UnknownService):
        # No queue for it: the service has never started on this broker (or its queue is gone).
        return Unavailable(service, "dịch vụ chưa chạy", "unknown_service")
    if isinstance(exc, MethodNotFound):
        return Unavailable(service, f"dịch vụ chưa có thao tác {method}", "method_not_found")
    if isinstance(exc, (RemoteError, BadRequest)):  # the service answered: with a failure
        return Unavailable(service, "dịch vụ gặp lỗi khi xử lý", "error")
    return Unavailable(service, "mất kết nối tới dịch vụ", "broker")  # connection lost mid-call


# --------------------------------------------------------------------------- failures as answers


Failure = tuple[list[dict[str, Any]], int, dict[str, str]]


def failure(exc: Exception, for_page: bool = False) -> Failure | None:
    """(errors, status, headers) answering a refusal, a validation error or an unavailable service; None for
    any other exception. `for_page`: a person reads it next to a form, so an unavailable service is named
    without the technical reason (which stays in the log)."""
    if isinstance(exc, DomainError):
        headers: dict[str, str] = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="ytcs"'
        retry = getattr(exc, "retry_after", None)
        if retry:
            headers["Retry-After"] = str(retry)
        elif exc.status == 503:  # a service refused because another did not answer in time (BoundedRpcProxy)
            headers["Retry-After"] = "5"
        return exc.errors, exc.status, headers
    if isinstance(exc, ValidationError):
        return validation_errors(exc), 422, {}
    if isinstance(exc, Unavailable):
        name = service_name(exc.service)
        if for_page:
            message = f"Dịch vụ {name} tạm thời không phản hồi. Vui lòng thử lại sau."
            errors = [{"field": None, "code": "service_unavailable", "message": message}]
        else:
            message = f"Dịch vụ {name} tạm thời không phản hồi ({exc.reason}). Vui lòng thử lại sau."
            errors = [{"field": None, "code": "service_unavailable", "message": message, "service": exc.service}]
        return errors, 503, {"Retry-After": "5"}
    return None


def answer(found: Failure) -> tuple[Any, int]:
    """A failure as the JSON answer."""
    errors, status, headers = found
    response, status = body(errors, status)
    response.headers.update(headers)
    return response, status


# Renders a failure for a person's browser (the pages' error page, web/common.py); None when the request is not
# from a browser, which then gets the JSON answer. Passed in by app.py: this module is below the pages.
PageRenderer = Callable[[list[dict[str, Any]], int], Any]


def install(app: Flask, page: PageRenderer | None = None) -> None:
    def respond(errors: list[dict[str, Any]], status: int) -> Response:
        if page is not None and not request.path.startswith("/api/"):
            shown = page(errors, status)
            if shown is not None:
                return make_response(shown)
        return make_response(body(errors, status))

    @app.errorhandler(DomainError)
    @app.errorhandler(ValidationError)
    @app.errorhandler(Unavailable)
    def refused(exc: Exception) -> Any:
        found = failure(exc)
        assert found is not None  # registered for exactly the kinds `failure` answers
        return answer(found)

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException) -> Any:
        # Routing's own failures too (an address no route has, a GET on a form's address): on a page address a
        # person gets the error page in Vietnamese, not Werkzeug's English page nor JSON.
        code, message = HTTP_MESSAGES.get(exc.code or 500, ("http_error", "Lỗi HTTP."))
        response = respond([{"field": None, "code": code, "message": message}], exc.code or 500)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # RFC 9110: a 405 names what is allowed
        return response

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        rid = g.get("request_id", "")
        message = f"Lỗi hệ thống; đã ghi nhận để xử lý (mã {rid})."
        try:
            return respond([{"field": None, "code": "internal_error", "message": message}], 500)
        except Exception:  # the error page itself failed (a template's fault, say): the plain answer still goes
            log.exception("the error page failed on %s %s", request.method, request.path)
            return body([{"field": None, "code": "internal_error", "message": message}], 500)
