"""Indicator facts (docs/investment.md "Indicator facts"): the fields a station or district health centre
reports for a year, how a typed or spreadsheet value is read, and the next version merged over the current one.
The handlers check what is written with `merge_facts`; the targets measured from the facts are targets.py.

A station's facts for a year are one version of every field (an update carries the others over).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

COUNT_LIMIT = 100_000_000  # more people than a province has: a typing slip, not a fact

# name -> (label shown to people, kind, minimum, maximum)
FIELDS: dict[str, tuple[str, str, int, int]] = {
    "population": ("Dân số của xã", "int", 0, COUNT_LIMIT),
    "population_managed": ("Số người có hồ sơ sức khỏe được quản lý", "int", 0, COUNT_LIMIT),
    "doctors": ("Số bác sỹ làm việc tại trạm", "int", 0, 1000),
    "doctor_days_per_week": ("Số ngày/tuần có bác sỹ làm việc tại trạm", "int", 0, 7),
    "doctors_family_medicine": ("Số bác sỹ được đào tạo kiến thức bác sỹ gia đình", "int", 0, 1000),
    "services_performed": ("Số dịch vụ kỹ thuật trong danh mục thực hiện được", "int", 0, 100_000),
    "services_in_list": ("Số dịch vụ kỹ thuật của danh mục tuyến", "int", 1, 100_000),
    "national_criteria_met": ("Đạt Bộ tiêu chí quốc gia về y tế xã", "bool", 0, 1),
    "criteria_scores": ("Điểm các tiêu chí", "scores", 0, 0),
    "bhyt_eligible": ("Đủ điều kiện khám, chữa bệnh BHYT", "bool", 0, 1),
}
FACT_NAMES = tuple(FIELDS)
SOURCE_LABEL = "Nguồn số liệu (văn bản, cuộc điều tra)"
# A district health centre (TTYT huyện) reports only its own technical-service list.
CENTRE_FIELDS = frozenset({"services_performed", "services_in_list"})
MAX_SCORES = 50
_TRUE = {"true", "1", "có", "co", "x", "đạt", "dat", "yes", "c"}
_FALSE = {"false", "0", "không", "khong", "chưa đạt", "chua dat", "no", "k"}


@dataclass(frozen=True)
class Problem:
    """A refused value: the field, a stable code and the Vietnamese reason."""

    field: str
    code: str
    message: str


def _int(name: str, raw: Any) -> tuple[int | None, Problem | None]:
    label, _kind, low, high = FIELDS[name]
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        value = int(raw)  # a spreadsheet cell holds 12 as 12.0
    elif isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value() and raw.adjusted() < 16:
        value = int(raw)  # the gateway reads a JSON 12500.0 as Decimal("12500.0")
    elif isinstance(raw, str):
        text = raw.strip().replace(" ", "").replace("\u00a0", "")
        # "12.345" is twelve thousand in Vietnamese writing; a decimal comma is a fraction, never a count.
        if text.replace(".", "").isdigit() and ("." not in text or all(len(g) == 3 for g in text.split(".")[1:])):
            value = int(text.replace(".", ""))
    if value is None:
        return None, Problem(name, "invalid_number", f"{label}: phải là số nguyên không âm.")
    if not low <= value <= high:
        return None, Problem(name, "out_of_range", f"{label}: phải từ {low} đến {high:,}.".replace(",", "."))
    return value, None


def _bool(name: str, raw: Any) -> tuple[bool | None, Problem | None]:
    if isinstance(raw, bool):
        return raw, None
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw), None
    if isinstance(raw, str):
        text = " ".join(raw.strip().lower().split())
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
    return None, Problem(name, "invalid_boolean", f"{FIELDS[name][0]}: ghi 'có' hoặc 'không' (true/false).")


def _scores(raw: Any) -> tuple[dict[str, Any] | None, Problem | None]:
    bad = Problem(
        "criteria_scores",
        "invalid_scores",
        'Điểm các tiêu chí: một bảng tên tiêu chí → điểm (số không âm), ví dụ {"TC1": 10, "TC2": 8.5}.',
    )
    if not isinstance(raw, dict) or len(raw) > MAX_SCORES:
        return None, bad
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not 1 <= len(key.strip()) <= 80:
            return None, bad
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            return None, bad
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except ArithmeticError:
            return None, bad
        if not number.is_finite() or number < 0 or number > 1000:
            return None, bad
        out[key.strip()] = int(number) if number == number.to_integral_value() else float(number)
    return out, None


def parse_value(name: str, raw: Any) -> tuple[Any, Problem | None]:
    """One field's stored value from what a person or program sent (None clears it)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    kind = FIELDS[name][1]
    if kind == "int":
        return _int(name, raw)
    if kind == "bool":
        return _bool(name, raw)
    return _scores(raw)


def parse_source(raw: Any) -> tuple[str | None, Problem | None]:
    text = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not text:
        return None, Problem(
            "source", "source_required", f"{SOURCE_LABEL}: bắt buộc (số văn bản hoặc tên cuộc điều tra)."
        )
    if len(text) > 300:
        return None, Problem("source", "too_long", f"{SOURCE_LABEL}: tối đa 300 ký tự.")
    if any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in text):
        return None, Problem("source", "invalid_character", f"{SOURCE_LABEL}: có ký tự điều khiển hướng chữ.")
    return text, None


def merge_facts(
    previous: dict[str, Any] | None, payload: dict[str, Any], level: str
) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """The next version: the previous values with the payload's fields set over them (a null clears one).
    Returns (facts with `source`, the fields set, problems). Unknown names and fields that do not apply to
    a district health centre are refused by name."""
    problems: list[Problem] = []
    merged = {name: (previous or {}).get(name) for name in FACT_NAMES}
    changed: list[str] = []
    for name, raw in payload.items():
        if name == "source":
            continue
        if name not in FIELDS:
            problems.append(
                Problem(name, "unknown_field", f"Không có chỉ số '{name}' (các chỉ số: {', '.join(FACT_NAMES)}).")
            )
            continue
        if level == "district" and name not in CENTRE_FIELDS:
            problems.append(
                Problem(
                    name,
                    "not_for_centre",
                    f"{FIELDS[name][0]}: không áp dụng cho trung tâm y tế huyện (chỉ ghi danh mục dịch vụ kỹ thuật).",
                )
            )
            continue
        value, problem = parse_value(name, raw)
        if problem:
            problems.append(problem)
            continue
        if value != merged[name]:
            changed.append(name)
        merged[name] = value
    source, problem = parse_source(payload.get("source"))
    if problem:
        problems.append(problem)
    if not problems:
        problems += consistency(merged)
    merged["source"] = source
    return merged, changed, problems


def consistency(f: dict[str, Any]) -> list[Problem]:
    """Facts that cannot all be true at once, each named on the field that breaks it."""
    out = []

    def over(part: str, whole: str) -> None:
        if f.get(part) is not None and f.get(whole) is not None and f[part] > f[whole]:
            out.append(
                Problem(
                    part,
                    "exceeds_total",
                    f"{FIELDS[part][0]} ({f[part]}) lớn hơn {FIELDS[whole][0].lower()} ({f[whole]}).",
                )
            )

    over("population_managed", "population")
    over("doctors_family_medicine", "doctors")
    over("services_performed", "services_in_list")
    if (f.get("doctor_days_per_week") or 0) > 0 and f.get("doctors") == 0:
        out.append(
            Problem(
                "doctor_days_per_week",
                "no_doctor",
                "Có ngày bác sỹ làm việc nhưng số bác sỹ làm việc tại trạm là 0.",
            )
        )
    return out
