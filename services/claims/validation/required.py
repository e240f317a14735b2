"""Required fields of Bảng 1–5, every one of them, each at the severity its role in payment deserves.

Source of the marks: the vendor's validation sheet for QĐ 4750 (reference/qd4750_validation_sheet.csv,
column `required`: `x`, or a condition such as "Bắt buộc khi MA_NHOM = 12"). It is a vendor's reading, not
the standard, and real exports leave some of its marked fields empty, so each is weighed (REQUIREMENTS):

- `missing_field` (critical, the contract's code): the fields that identify the visit, the insured person
  and card, the diagnosis, the settlement month and the money asked of the fund — the claim cannot be
  identified or paid as sent without them;
- `missing_descriptive_field` (warning): every other marked field, and the conditional ones when their
  condition holds. `MAHUYEN_CU_TRU` only for visits before 01/7/2025 (the district level was abolished);
- empty amounts that the standard's formulas determine (`T_BNTT`, `T_BNCCT`, `T_NGUONKHAC`, `T_BHTT_GDV`,
  `T_THUOC`, `T_VTYT`; line `T_NGUONKHAC`, `T_BNTT`, `T_BNCCT`) read as 0 and are then checked against the
  lines: the code of that check is their rule (a wrong 0 is still caught).

QĐ 4210 records (archives) are held to the critical fields only: their tables lack most QĐ 130 fields.
Line warnings are one issue per table and field of a record, naming the first line and how many there are.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from importlib import resources
from itertools import chain
from operator import attrgetter, is_, itemgetter

from services.claims.domain.records import Claim, ClaimLine, Issue, field_name
from services.claims.domain.values import field_text
from services.claims.validation.catalog import Rule, make_issue
from services.claims.validation.context import ValidationContext

_WHAT = "trường bắt buộc hoặc trường để trống"
_Q130 = "QĐ 130/QĐ-BYT, sửa đổi bởi QĐ 4750/QĐ-BYT"
_SHEET = "bảng kiểm tra QĐ 4750 (cột bắt buộc)"

SHEETS = {
    "XML1": "Bang 1_Tong hop", "XML2": "Bang 2_Thuoc", "XML3": "Bang 3_DVKT, VTYT",
    "XML4": "Bang 4_Dich vu CLS", "XML5": "Bang 5_Dien bien lam sang",
}
DISTRICTS_ABOLISHED = datetime(2025, 7, 1)  # Luật Tổ chức chính quyền địa phương 2025: no district level


@cache
def sheet_marks() -> dict[tuple[str, str], str]:
    """(table, field) -> the sheet's required mark as written, for Bảng 1–5."""
    tables = {sheet: table for table, sheet in SHEETS.items()}
    text = resources.files("services.claims.reference").joinpath("qd4750_validation_sheet.csv").read_text("utf-8")
    out: dict[tuple[str, str], str] = {}
    for row in csv.DictReader(text.splitlines()):
        table = tables.get(row["sheet"])
        if table is not None and row["required"].strip():
            out[(table, row["field"].strip())] = row["required"].strip()
    return out


@dataclass(frozen=True, slots=True)
class Requirement:
    table: str
    field: str
    code: str | None  # None: weighed and not required (see `when`)
    when: str | None = None  # the condition, in Vietnamese; None: always


# --- the critical ones (also required beyond the sheet: the card and its validity) -------------------

# (Claim attribute, QĐ 130 field name)
_XML1_CRITICAL = (
    ("ma_lk", "MA_LK"), ("ho_ten", "HO_TEN"), ("ngay_sinh", "NGAY_SINH"), ("gioi_tinh", "GIOI_TINH"),
    ("ma_the_bhyt", "MA_THE_BHYT"), ("gt_the_tu", "GT_THE_TU"), ("gt_the_den", "GT_THE_DEN"),
    ("ma_benh_chinh", "MA_BENH_CHINH"), ("ma_loai_kcb", "MA_LOAI_KCB"), ("ma_cskcb", "MA_CSKCB"),
    ("ngay_vao", "NGAY_VAO"), ("ngay_ra", "NGAY_RA"), ("nam_qt", "NAM_QT"), ("thang_qt", "THANG_QT"),
    ("t_tongchi_bv", "T_TONGCHI_BV"), ("t_tongchi_bh", "T_TONGCHI_BH"), ("t_bhtt", "T_BHTT"),
)
_LINE_CRITICAL = (
    ("quantity", "SO_LUONG"), ("tyle_tt_bh", "TYLE_TT_BH"), ("thanh_tien_bv", "THANH_TIEN_BV"),
    ("thanh_tien_bh", "THANH_TIEN_BH"), ("muc_huong", "MUC_HUONG"), ("t_bhtt", "T_BHTT"), ("ma_pttt", "MA_PTTT"),
)


def _line_critical(table: str) -> tuple[tuple[str, str], ...]:
    drugs = table == "XML2"
    return (
        ("item_code", "MA_THUOC" if drugs else "MA_DICH_VU"),
        ("unit_price", "DON_GIA" if drugs else "DON_GIA_BV"),
        *_LINE_CRITICAL,
    )


# Read as 0 when empty, then checked against the lines by the code given.
_AS_ZERO = {
    ("XML1", "T_BNTT"): "amount_mismatch", ("XML1", "T_BNCCT"): "amount_mismatch",
    ("XML1", "T_NGUONKHAC"): "amount_mismatch", ("XML1", "T_BHTT_GDV"): "t_bhtt_gdv_mismatch",
    ("XML1", "T_THUOC"): "subtotal_mismatch", ("XML1", "T_VTYT"): "subtotal_mismatch",
    **{(t, f): "amount_mismatch" for t in ("XML2", "XML3") for f in ("T_NGUONKHAC", "T_BNTT", "T_BNCCT")},
}
_SURGERY_GROUPS = frozenset({"1", "2", "3", "8", "18"})  # MA_NHOM: tests, imaging, functional, procedures, surgery


def _group(fields: dict[str, str | None]) -> str | None:
    return field_text(fields, "MA_NHOM")

# Conditional requirements: (table, field) -> (condition in Vietnamese, test on the line's fields)
_WHEN = {
    ("XML2", "TT_THAU"): ("trừ MA_NHOM 7, 17", lambda v: field_text(v, "MA_NHOM") not in ("7", "17")),
    ("XML2", "SO_DANG_KY"): ("như QĐ 4210", None),
    ("XML2", "MA_BAC_SI"): ("như QĐ 4210", None),
    ("XML3", "TEN_DICH_VU"): ("khi có MA_DICH_VU", lambda v: field_text(v, "MA_DICH_VU") is not None),
    ("XML3", "TEN_VAT_TU"): ("khi có MA_VAT_TU", lambda v: field_text(v, "MA_VAT_TU") is not None),
    ("XML3", "MA_XANG_DAU"): ("khi MA_NHOM = 12", lambda v: field_text(v, "MA_NHOM") == "12"),
    ("XML3", "TT_THAU"): ("khi MA_NHOM = 10", lambda v: field_text(v, "MA_NHOM") == "10"),
    ("XML3", "NGUOI_THUC_HIEN"): ("khi MA_NHOM = 1, 2, 3, 8, 18", lambda v: _group(v) in _SURGERY_GROUPS),
    ("XML3", "NGAY_TH_YL"): ("khi MA_NHOM = 1, 2, 3, 8, 18", lambda v: _group(v) in _SURGERY_GROUPS),
    ("XML4", "NGAY_KQ"): ("khi GIA_TRI có dữ liệu", lambda v: field_text(v, "GIA_TRI") is not None),
    ("XML1", "MAHUYEN_CU_TRU"): ("khi NGAY_VAO trước 01/7/2025 (bỏ cấp huyện)", None),
}
# Weighed and not required: (table, field) -> why
_NOT_REQUIRED = {
    ("XML2", "MA_DICH_VU"): "không bắt buộc: “như QĐ 4210”, bảng thuốc của QĐ 4210 không có trường này",
}
_EITHER = "MA_DICH_VU hoặc MA_VAT_TU"  # XML3: a service or a supply; missing both is missing_field


@cache
def requirements() -> tuple[Requirement, ...]:
    """Every required field of Bảng 1–5 (the sheet's marks), with its code and condition."""
    critical = {("XML1", name) for _, name in _XML1_CRITICAL}
    for table in ("XML2", "XML3"):
        critical |= {(table, name) for _, name in _line_critical(table)}
    out: list[Requirement] = []
    for (table, name), mark in sheet_marks().items():
        key = (table, name)
        if key in _NOT_REQUIRED:
            out.append(Requirement(table, name, None, _NOT_REQUIRED[key]))
        elif key in (("XML3", "MA_DICH_VU"), ("XML3", "MA_VAT_TU")):
            out.append(Requirement(table, name, "missing_field", _EITHER))
        elif key in critical:
            out.append(Requirement(table, name, "missing_field"))
        elif key in _AS_ZERO:
            out.append(Requirement(table, name, _AS_ZERO[key], "để trống được đọc là 0 rồi đối chiếu với các dòng"))
        else:
            when = _WHEN.get(key, (None, None))[0]
            if when is None and mark.lower() != "x":
                when = mark
            out.append(Requirement(table, name, "missing_descriptive_field", when))
    marked = {(r.table, r.field) for r in out}
    out += [Requirement("XML1", n, "missing_field", "ngoài bảng kiểm tra: thẻ BHYT") for _, n in _XML1_CRITICAL
            if ("XML1", n) not in marked]
    return tuple(out)


def rules() -> list[Rule]:
    basis = f"{_Q130} Bảng 1–5; {_SHEET}"
    return [
        Rule(r.code, r.table, r.field, f"{r.field} bắt buộc" + (f" ({r.when})" if r.when else ""), basis)
        for r in requirements() if r.code is not None
    ]


# --- the compiled checks ------------------------------------------------------------------------------


def _names(standard: str, pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    """(attribute, QĐ 130 name, name in the file), dropping a second attribute of the same file field."""
    seen: set[str] = set()
    out = []
    for attr, name in pairs:
        shown = field_name(standard, name)
        if shown not in seen:
            seen.add(shown)
            out.append((attr, name, shown))
    return tuple(out)


_CRITICAL = {
    (std, table): _names(std, _XML1_CRITICAL if table == "XML1" else _line_critical(table))
    for std in ("130", "4210") for table in ("XML1", "XML2", "XML3")
}


@cache
def _descriptive() -> dict[str, tuple[tuple[str, object], ...]]:
    """table -> (field, condition test or None) of the warnings."""
    out: dict[str, list[tuple[str, object]]] = {t: [] for t in SHEETS}
    for r in requirements():
        if r.code == "missing_descriptive_field" and (r.table, r.field) != ("XML1", "MAHUYEN_CU_TRU"):
            out[r.table].append((r.field, _WHEN.get((r.table, r.field), (None, None))[1]))
    return {t: tuple(v) for t, v in out.items()}


# The fast path: the typed attributes read at once, C-level; when none is None nothing is missing and the
# per-field loops below are skipped. For lines, the attributes of XML2 and XML3 together.
_XML1_VALUES = {std: attrgetter(*(attr for attr, _, _ in _CRITICAL[std, "XML1"])) for std in ("130", "4210")}
_LINE_VALUES = {
    std: attrgetter(*dict.fromkeys(attr for table in ("XML2", "XML3") for attr, _, _ in _CRITICAL[std, table]))
    for std in ("130", "4210")
}
_IS_NONE = partial(is_, None)  # not `None in values`: Decimal's == against None is slow


def check(claim: Claim, ctx: ValidationContext, out: list[Issue]) -> None:
    invalid = claim.invalid
    if any(map(_IS_NONE, _XML1_VALUES[claim.standard](claim))):
        for attr, name, shown in _CRITICAL[claim.standard, "XML1"]:
            if getattr(claim, attr) is None and f"XML1:0:{name}" not in invalid:
                out.append(make_issue("missing_field", table="XML1", field=shown, ma_lk=claim.ma_lk, what=_WHAT))
    if any(map(_IS_NONE, chain.from_iterable(map(_LINE_VALUES[claim.standard], claim.lines)))):
        _missing_in_lines(claim, out)
    if claim.standard == "130":
        _descriptive_fields(claim, out)


def _missing_in_lines(claim: Claim, out: list[Issue]) -> None:
    invalid = claim.invalid
    for line in claim.lines:
        table, index = line.table, line.index
        for attr, name, shown in _CRITICAL[claim.standard, table]:
            if getattr(line, attr) is None and f"{table}:{index}:{name}" not in invalid:
                out.append(make_issue(
                    "missing_field", table=table, field=shown, ma_lk=claim.ma_lk,
                    line=index, stt=line.stt, what=_WHAT,
                ))


@dataclass(frozen=True, slots=True)
class _Spec:
    """The warnings of one table, compiled for the hot loop."""

    fields: tuple[tuple[str, object], ...]  # (field, condition test or None), in the sheet's order
    always: object  # itemgetter of the unconditional fields: a tuple of their texts
    conditional: tuple[tuple[str, object], ...]  # the entries of `fields` with a test, in the same order


def _compile(fields: tuple[tuple[str, object], ...]) -> _Spec:
    names = tuple(name for name, when in fields if when is None)
    getter = itemgetter(*names) if len(names) > 1 else (lambda d: (d[names[0]],)) if names else (lambda d: ())
    return _Spec(fields, getter, tuple((name, when) for name, when in fields if when is not None))


@cache
def _compiled() -> dict[str, _Spec]:
    return {table: _compile(fields) for table, fields in _descriptive().items()}


def _all_filled(spec: _Spec, fields: dict[str, str | None]) -> bool:
    """Every unconditional field of the table is written (not empty, not blank): the fast path."""
    try:  # a blank text strips to "" (false); a field absent raises KeyError, a None TypeError
        return all(map(str.strip, spec.always(fields)))  # type: ignore[operator]
    except (KeyError, TypeError):
        return False


def _descriptive_fields(claim: Claim, out: list[Issue]) -> None:
    spec = _descriptive()
    compiled = _compiled()
    x1 = claim.fields
    if not _all_filled(compiled["XML1"], x1) or compiled["XML1"].conditional:
        for name, _ in spec["XML1"]:
            if field_text(x1, name) is None and f"XML1:0:{name}" not in claim.invalid:
                out.append(make_issue("missing_descriptive_field", table="XML1", field=name, ma_lk=claim.ma_lk,
                                      detail=""))
    if field_text(x1, "MAHUYEN_CU_TRU") is None and claim.ngay_vao is not None and claim.ngay_vao < DISTRICTS_ABOLISHED:
        out.append(make_issue("missing_descriptive_field", table="XML1", field="MAHUYEN_CU_TRU", ma_lk=claim.ma_lk,
                              detail=" (người bệnh vào trước khi bỏ cấp huyện)"))
    missing: dict[tuple[str, str], list[ClaimLine | tuple[int, int | None]]] = {}
    invalid = claim.invalid
    for line in claim.lines:  # the hot loop: almost every field is there
        v = line.fields
        get = v.get
        table = compiled[line.table]
        # When every unconditional field is there, only the conditional ones can be missing (same order).
        for name, when in table.conditional if _all_filled(table, v) else table.fields:
            raw = get(name)
            if raw and not raw.isspace():
                continue
            if (when is None or when(v)) and f"{line.table}:{line.index}:{name}" not in invalid:  # type: ignore[operator]
                missing.setdefault((line.table, name), []).append((line.index, line.stt))
    for table in ("XML4", "XML5") if claim.details else ():  # most records have neither
        for n, row in enumerate(claim.details.get(table, ()), 1):
            for name, when in spec[table]:
                if field_text(row, name) is None and (when is None or when(row)):  # type: ignore[operator]
                    stt = field_text(row, "STT")
                    missing.setdefault((table, name), []).append(
                        (n, int(stt) if stt and stt.isdigit() and len(stt) < 10 else None)
                    )
    for (table, name), rows in missing.items():
        index, stt = rows[0]  # type: ignore[misc]
        out.append(make_issue(
            "missing_descriptive_field", table=table, field=name, ma_lk=claim.ma_lk, line=index, stt=stt,
            detail=f" ({len(rows)} dòng)" if len(rows) > 1 else "",
        ))
