"""Field types shared by the contracts: exact money, bounded ids and years, dates in a plausible window,
free text without bidi controls. Every message here is shown to people, so it is Vietnamese.

Money typed by people goes through one reader, `parse_vnd` (whole đồng) / `parse_money2` (claim amounts,
2 places): the VND field uses it for strings (API and pages alike) and the pages use it for their forms.
It reads what Vietnamese users type (1.000.000 · 1 000 000 · 1000000, with or without đ/VND/đồng) and
refuses, saying why, what could be read two ways or carries a fraction (1000000.5 · 1,5 · 1.000.00).
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields, validate

from services.common import clock

VND_LIMIT = 10**15
ID_MAX = 2**63 - 1  # BIGINT: a larger id could only overflow the database driver (a 5xx), never match
YEAR_MIN, YEAR_MAX = 2000, 2100  # fiscal / plan / criteria years: the plans' era with room on both sides
INT_MAX = 2**31 - 1  # counts (cards, pages): an INTEGER column at most
# Dates people record (decisions, disbursements, advances, project events): from 2015-01-01 (Luật NSNN
# 83/2015 and the first BHYT fund year whose 20 % surplus returned to the province: nothing the system keeps
# is older) to one year after today (a decision may be dated ahead, a disbursement not by more).
EARLIEST_DAY = date(2015, 1, 1)
DAYS_AHEAD = 366


class Coded(str):
    """A message that carries its stable error code (the gateway's error answer reads `code`)."""

    code: str

    def __new__(cls, text: str, code: str) -> Coded:
        self = super().__new__(cls, text)
        self.code = code
        return self


# --------------------------------------------------------------------------- money typed by people


class MoneyInputError(ValueError):
    """A money text refused; `str(exc)` is the Vietnamese reason."""


_MAX_TEXT = 64
_SPACES = " \u00a0\u202f\u2009\u2007\u2008\u200a"  # space, no-break, narrow no-break, thin, figure, punct., hair
_UNIT = re.compile(r"[\s]*(?:đồng|vnđ|vnd|đ|₫)\.?$")
_SIGN = re.compile(r"^([-+\u2212]?)[\s]*")
EXAMPLE = "ví dụ 1.000.000 hoặc 1 000 000"


def _split(text: str, allow_fraction: bool) -> tuple[int, str, str]:
    """(sign, whole digits, fraction digits) of a money text, or MoneyInputError saying why not."""
    if not isinstance(text, str):
        raise MoneyInputError("Số tiền không hợp lệ.")
    if len(text) > _MAX_TEXT:
        raise MoneyInputError("Số tiền quá dài.")
    raw = unicodedata.normalize("NFC", text).strip().lower()
    raw = _UNIT.sub("", raw).strip()
    sign_match = _SIGN.match(raw)
    sign = -1 if sign_match and sign_match.group(1) in ("-", "\u2212") else 1
    body = raw[sign_match.end() :] if sign_match else raw
    if not body:
        raise MoneyInputError(f"Chưa nhập số tiền ({EXAMPLE}).")
    if any(not (c in "0123456789.," or c in _SPACES) for c in body):
        raise MoneyInputError(f"Số tiền chỉ gồm chữ số, dấu chấm hoặc khoảng trắng ngăn hàng nghìn ({EXAMPLE}).")
    fraction = ""
    if "," in body:
        whole, _, fraction = body.partition(",")
        if not allow_fraction:
            raise MoneyInputError(
                "Số tiền là số nguyên đồng, không có phần thập phân: dấu phẩy là dấu thập phân, "
                f"hàng nghìn ngăn bằng dấu chấm hoặc khoảng trắng ({EXAMPLE})."
            )
        if not re.fullmatch(r"[0-9]{1,2}", fraction):
            raise MoneyInputError("Phần thập phân (sau dấu phẩy) có 1 hoặc 2 chữ số, ví dụ 42.900,50.")
        body = whole
    elif allow_fraction and re.fullmatch(r"[0-9]+\.[0-9]{1,2}", body):
        whole, _, fraction = body.partition(".")  # the machine form 42900.50: a dot before 1–2 digits
        return sign, whole, fraction
    kinds = {"." if c == "." else "space" for c in body if c == "." or c in _SPACES}
    if len(kinds) > 1:
        raise MoneyInputError(
            f"Số tiền dùng lẫn dấu chấm và khoảng trắng để ngăn hàng nghìn; chọn một cách ({EXAMPLE})."
        )
    groups = re.split(r"[." + _SPACES + "]", body) if kinds else [body]
    if any(g == "" for g in groups):
        raise MoneyInputError(f"Số tiền có dấu ngăn thừa hoặc đặt sai chỗ ({EXAMPLE}).")
    if len(groups) > 1:
        last = groups[-1]
        if "." in kinds and len(last) < 3:
            why = "phần thập phân ghi sau dấu phẩy, ví dụ 42.900,50" if allow_fraction else "số tiền là số nguyên đồng"
            raise MoneyInputError(
                f"“{text.strip()[:30]}” trông như số thập phân (sau dấu chấm cuối chỉ có {len(last)} chữ số): "
                f"{why}; dấu chấm chỉ ngăn hàng nghìn, mỗi nhóm đủ 3 chữ số ({EXAMPLE})."
            )
        if len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
            raise MoneyInputError(
                "Số tiền ngăn hàng nghìn sai chỗ: nhóm đầu có 1 đến 3 chữ số, mỗi nhóm sau đủ 3 chữ số "
                f"({EXAMPLE}); hoặc nhập liền không ngăn."
            )
    return sign, "".join(groups), fraction


def parse_vnd(text: str) -> int:
    """Whole đồng from what a person typed: '1.000.000', '1 000 000 đ', '-50.000 VND', '1000000'."""
    sign, whole, _ = _split(text, allow_fraction=False)
    value = sign * int(whole)
    if abs(value) >= VND_LIMIT:
        raise MoneyInputError("Số tiền quá lớn (tối đa 999 nghìn tỷ đồng).")
    return value


def parse_money2(text: str) -> Decimal:
    """A claim amount (2 places) from what a person typed: '42.900,50', '42 900,5', '42900.50', '42.900'."""
    sign, whole, fraction = _split(text, allow_fraction=True)
    value = sign * Decimal(f"{int(whole)}.{fraction or '0'}")
    if value.adjusted() >= 16:  # Numeric(18, 2)
        raise MoneyInputError("Số tiền quá lớn.")
    return value.quantize(Decimal("0.01"))


class VND(fields.Integer):
    """Whole đồng. Refuses floats and fractions instead of rounding them silently; a string is read by
    `parse_vnd` (the pages' forms send strings; so may API clients: "1.000.000" means a million). A JSON number
    written with a point or an exponent arrives as a Decimal (the gateway's `load_json`): whole, it is taken
    (148670257.0, as a spreadsheet or pandas export writes it), with a fraction it is refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str):
            try:
                value = parse_vnd(value)
            except MoneyInputError as exc:
                raise ValidationError(Coded(str(exc), "invalid_amount")) from exc
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            if value.adjusted() >= 16:  # checked before int(): 1E+100000 would be a 100,000-digit integer
                raise ValidationError("Số tiền quá lớn (tối đa 999 nghìn tỷ đồng).")
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Số tiền phải là số nguyên đồng (VND), không dùng số thập phân.")
        if abs(value) >= VND_LIMIT:  # far above any budget, far below BIGINT: sums of many rows still fit
            raise ValidationError("Số tiền quá lớn (tối đa 999 nghìn tỷ đồng).")
        return value


class Money2(fields.Field):
    """A claim amount: a decimal string with 2 places on the wire, `Decimal` in Python; never a float."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return str(Decimal(value).quantize(Decimal("0.01")))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, (float, bool)):
            raise ValidationError("Số tiền phải là chuỗi số thập phân 2 chữ số hoặc số nguyên, không dùng số thực.")
        try:
            d = Decimal(str(value))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError("Số tiền không hợp lệ.") from exc
        if not d.is_finite():
            raise ValidationError("Số tiền không hợp lệ.")
        if d.adjusted() >= 16:  # Numeric(18, 2): at most 16 digits before the point
            raise ValidationError("Số tiền quá lớn.")
        if d != d.quantize(Decimal("0.01")):
            raise ValidationError("Số tiền có tối đa 2 chữ số thập phân.")
        return d.quantize(Decimal("0.01"))


# --------------------------------------------------------------------------- bounded integers


class _Whole(fields.Integer):
    """An integer that a query string may send as text, but never a number with a fraction: marshmallow's own
    Integer reads the JSON number 2024.5 as 2024."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, (float, Decimal)) and (not math.isfinite(value) or value % 1 != 0):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Id(_Whole):
    """A record number: 1 … 2^63−1 (BIGINT). The bound is stated in the OpenAPI document (from the validator),
    so the fuzz run sends 2^63 and beyond; past it the answer is a named 422, never the driver's overflow."""

    def __init__(self, **kwargs: Any) -> None:
        validators = [_Range(min=1, max=ID_MAX, error=f"Số hiệu phải từ 1 đến {ID_MAX}.")]
        super().__init__(validate=validators + list(_as_list(kwargs.pop("validate", None))), **kwargs)


class Year(_Whole):
    """A year (fiscal, plan, criteria): YEAR_MIN … YEAR_MAX."""

    def __init__(self, **kwargs: Any) -> None:
        validators = [_Range(min=YEAR_MIN, max=YEAR_MAX, error=f"Năm phải từ {YEAR_MIN} đến {YEAR_MAX}.")]
        super().__init__(validate=validators + list(_as_list(kwargs.pop("validate", None))), **kwargs)


class Count(_Whole):
    """A count (cards, records): 0 … 2^31−1."""

    def __init__(self, **kwargs: Any) -> None:
        validators = [_Range(min=0, max=INT_MAX, error=f"Phải từ 0 đến {INT_MAX}.")]
        super().__init__(validate=validators + list(_as_list(kwargs.pop("validate", None))), **kwargs)


class _Range(validate.Range):
    """validate.Range whose message carries the code `out_of_range` (apispec still reads min and max)."""

    def _format_error(self, value: Any, message: str) -> str:
        return Coded(super()._format_error(value, message), "out_of_range")


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


# --------------------------------------------------------------------------- dates


def latest_day() -> date:
    return clock.today() + timedelta(days=DAYS_AHEAD)


class Day(fields.Date):
    """A date people record (decision, disbursement, advance, project event): ISO YYYY-MM-DD within
    EARLIEST_DAY … today + 1 year. A date outside is a typing slip (2099, 0001), refused by name."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        last = latest_day()
        if not EARLIEST_DAY <= day <= last:
            raise ValidationError(
                Coded(
                    f"Ngày {day.strftime('%d/%m/%Y')} nằm ngoài khoảng cho phép: từ "
                    f"{EARLIEST_DAY.strftime('%d/%m/%Y')} đến {last.strftime('%d/%m/%Y')} (một năm sau hôm nay).",
                    "date_out_of_range",
                )
            )
        return day


# --------------------------------------------------------------------------- free text

# Bidirectional controls: invisible, they reorder what is shown (a decision number "125/QĐ" + U+202E + "2024" reads
# backwards), so a page could show a spoofed number or date. Nothing Vietnamese needs them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
BIDI_MESSAGE = (
    "Văn bản chứa ký tự điều khiển hướng chữ (ẩn, có thể làm hiển thị sai số hoặc ngày); "
    "vui lòng gõ lại, không dán từ nguồn khác."
)


def has_bidi(text: str) -> bool:
    return any(c in BIDI_CONTROLS for c in text)


def no_bidi(text: Any) -> bool:
    """marshmallow validator: refuse bidi controls in free text."""
    if isinstance(text, str) and has_bidi(text):
        raise ValidationError(Coded(BIDI_MESSAGE, "bidi_control"))
    return True


class Text(fields.String):
    """Free text people type (decision numbers, notes, references, titles, names): no bidi controls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[no_bidi, *_as_list(kwargs.pop("validate", None))], **kwargs)
