"""missing_field: what a claim cannot be paid without.

The vendor sheet (qd4750_validation_sheet.csv) marks many more fields required; real exports leave
some of them empty (MAHUYEN_CU_TRU after districts were abolished), so only the fields that
identify the visit, the insured person, the card, the diagnosis, the settlement month and the money
are critical here. The other summary amounts (T_BNTT, T_BNCCT, T_NGUONKHAC, T_BHTT_GDV, T_THUOC,
T_VTYT) read 0 when empty and are then checked against the lines.
"""

from __future__ import annotations

from services.claims.records import Claim, Issue, field_name
from services.claims.validation.catalog import make_issue
from services.claims.validation.context import ValidationContext

_WHAT = "trường bắt buộc hoặc trường để trống"

# (Claim attribute, QĐ 130 field name)
_XML1 = (
    ("ma_lk", "MA_LK"),
    ("ho_ten", "HO_TEN"),
    ("ngay_sinh", "NGAY_SINH"),
    ("gioi_tinh", "GIOI_TINH"),
    ("ma_the_bhyt", "MA_THE_BHYT"),
    ("gt_the_tu", "GT_THE_TU"),
    ("gt_the_den", "GT_THE_DEN"),
    ("ma_benh_chinh", "MA_BENH_CHINH"),
    ("ma_loai_kcb", "MA_LOAI_KCB"),
    ("ma_cskcb", "MA_CSKCB"),
    ("ngay_vao", "NGAY_VAO"),
    ("ngay_ra", "NGAY_RA"),
    ("nam_qt", "NAM_QT"),
    ("thang_qt", "THANG_QT"),
    ("t_tongchi_bv", "T_TONGCHI_BV"),
    ("t_tongchi_bh", "T_TONGCHI_BH"),
    ("t_bhtt", "T_BHTT"),
)

_LINE = (
    ("quantity", "SO_LUONG"),
    ("tyle_tt_bh", "TYLE_TT_BH"),
    ("thanh_tien_bv", "THANH_TIEN_BV"),
    ("thanh_tien_bh", "THANH_TIEN_BH"),
    ("muc_huong", "MUC_HUONG"),
    ("t_bhtt", "T_BHTT"),
    ("ma_pttt", "MA_PTTT"),
)


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


def _line_pairs(table: str) -> tuple[tuple[str, str], ...]:
    drugs = table == "XML2"
    return (
        ("item_code", "MA_THUOC" if drugs else "MA_DICH_VU"),
        ("name", "TEN_THUOC" if drugs else "TEN_DICH_VU"),
        ("unit_price", "DON_GIA" if drugs else "DON_GIA_BV"),
        *_LINE,
    )


_REQUIRED = {
    (std, table): _names(std, _XML1 if table == "XML1" else _line_pairs(table))
    for std in ("130", "4210") for table in ("XML1", "XML2", "XML3")
}


def check(claim: Claim, ctx: ValidationContext, out: list[Issue]) -> None:
    invalid = claim.invalid
    for attr, name, shown in _REQUIRED[claim.standard, "XML1"]:
        if getattr(claim, attr) is None and f"XML1:0:{name}" not in invalid:
            out.append(make_issue("missing_field", table="XML1", field=shown, ma_lk=claim.ma_lk, what=_WHAT))
    for line in claim.lines:
        table, index = line.table, line.index
        for attr, name, shown in _REQUIRED[claim.standard, table]:
            if getattr(line, attr) is None and f"{table}:{index}:{name}" not in invalid:
                out.append(make_issue(
                    "missing_field", table=table, field=shown, ma_lk=claim.ma_lk,
                    line=index, stt=line.stt, what=_WHAT,
                ))
