"""Dates: visit order (critical), settlement month, order times and treatment days (warnings)."""

from __future__ import annotations

from datetime import datetime

from services.claims.domain.records import Claim, Issue
from services.claims.validation.catalog import make_issue
from services.claims.validation.context import ValidationContext

# QĐ 130 (SO_NGAY_DTRI, amended by QĐ 4750): 0 days for these visit kinds…
_ZERO_DAYS = frozenset({"01", "07", "09"})
# …and NGAY_RA − NGAY_VAO + 1 for these, inpatient '03' included (QĐ 4750; vendor sheet).
_COUNTED_DAYS = frozenset({"02", "03", "04", "06"})


def fmt(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M")


def check(claim: Claim, ctx: ValidationContext, out: list[Issue]) -> None:
    vao, ra = claim.ngay_vao, claim.ngay_ra
    ordered = vao is not None and ra is not None and ra >= vao
    if vao is not None and ra is not None and ra < vao:
        out.append(make_issue(
            "date_order", table="XML1", field="NGAY_RA", ma_lk=claim.ma_lk,
            detail=f"NGAY_RA ({fmt(ra)}) trước NGAY_VAO ({fmt(vao)})",
        ))
    if vao is not None and claim.ngay_sinh is not None and claim.ngay_sinh > vao.date():
        out.append(make_issue(
            "date_order", table="XML1", field="NGAY_SINH", ma_lk=claim.ma_lk,
            detail="ngày sinh sau ngày vào khám",
        ))
    if vao is not None and claim.period_month is not None and claim.period_month < (vao.year, vao.month):
        out.append(make_issue(
            "settlement_before_visit", table="XML1", field="THANG_QT", ma_lk=claim.ma_lk,
            period=f"{claim.thang_qt:02d}/{claim.nam_qt}", visit_month=f"{vao.month:02d}/{vao.year}",
        ))
    if not ordered:
        return
    assert vao is not None and ra is not None
    for line in claim.lines:
        if line.ngay_yl is not None and not vao <= line.ngay_yl <= ra:
            out.append(make_issue(
                "line_date_outside_visit", table=line.table, field="NGAY_YL", ma_lk=claim.ma_lk,
                line=line.index, stt=line.stt, value=fmt(line.ngay_yl), visit=f"{fmt(vao)} – {fmt(ra)}",
            ))
            break  # one is enough to send the assessor to the record
    _treatment_days(claim, vao, ra, out)


def _treatment_days(claim: Claim, vao: datetime, ra: datetime, out: list[Issue]) -> None:
    days, kind = claim.so_ngay_dtri, claim.ma_loai_kcb
    if days is None or kind is None:
        return
    span = (ra.date() - vao.date()).days
    if kind in _ZERO_DAYS:
        allowed: tuple[int, ...] = (0,)
    elif kind in _COUNTED_DAYS:
        allowed = (span + 1,)
    else:
        return
    if days not in allowed:
        out.append(make_issue(
            "treatment_days_mismatch", table="XML1", field="SO_NGAY_DTRI", ma_lk=claim.ma_lk,
            value=days, expected=" hoặc ".join(str(a) for a in allowed),
        ))
