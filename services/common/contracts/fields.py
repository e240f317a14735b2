"""Field types shared by the contracts: exact money, codes, periods."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, fields

VND_LIMIT = 10**15


class VND(fields.Integer):
    """Whole đồng. Refuses floats and fractional strings instead of rounding them silently."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
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
