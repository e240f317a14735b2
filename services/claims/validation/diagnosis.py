"""Diagnoses against the ICD-10 list of QĐ 4469/QĐ-BYT and its restriction sheets.

An unknown main diagnosis is critical (docs/contract.md icd10_invalid). The restrictions (A2 not a main
diagnosis, A3 age, A4 sex) are warnings: they point at a coding error an assessor will query, but
the money of the claim is still consistent. Restrictions are skipped when the birth date has an
unknown day or month (QĐ 130 allows '00'), as the age is then uncertain.
"""

from __future__ import annotations

from services.claims.domain.records import Claim, Issue, field_name
from services.claims.validation.catalog import make_issue
from services.claims.validation.context import ValidationContext

MAX_SECONDARY = 12  # QĐ 130 Bảng 1, MA_BENH_KT
_SEX = {"F": ("nữ", 2), "M": ("nam", 1)}


def check(claim: Claim, ctx: ValidationContext, out: list[Issue]) -> None:
    icd = ctx.icd
    main_field = field_name(claim.standard, "MA_BENH_CHINH")
    other_field = field_name(claim.standard, "MA_BENH_KT")
    known: list[tuple[str, str]] = []
    main = claim.ma_benh_chinh
    if main is not None:
        if main not in icd:
            out.append(make_issue("icd10_invalid", table="XML1", field=main_field, ma_lk=claim.ma_lk, value=main))
        else:
            known.append((main_field, main))
            key = icd.key(main)
            if key in icd.not_main or key in icd.asterisk:
                out.append(make_issue(
                    "icd_not_main_diagnosis", table="XML1", field=main_field, ma_lk=claim.ma_lk, value=main,
                ))
    if len(claim.ma_benh_kt) > MAX_SECONDARY:
        out.append(make_issue(
            "icd_secondary_too_many", table="XML1", field=other_field, ma_lk=claim.ma_lk,
            count=len(claim.ma_benh_kt),
        ))
    for code in claim.ma_benh_kt:
        if code in icd:
            known.append((other_field, code))
        else:
            out.append(make_issue(
                "icd10_secondary_invalid", table="XML1", field=other_field, ma_lk=claim.ma_lk, value=code,
            ))
    for name, code in known:
        _restrictions(claim, ctx, name, code, out)


def _restrictions(claim: Claim, ctx: ValidationContext, name: str, code: str, out: list[Issue]) -> None:
    icd = ctx.icd
    sex = icd.restriction(icd.sex, code)
    if sex is not None and claim.gioi_tinh in (1, 2):
        label, gender = _SEX[str(sex)]
        if claim.gioi_tinh != gender:
            out.append(make_issue(
                "icd_sex_restricted", table="XML1", field=name, ma_lk=claim.ma_lk, value=code, allowed=label,
            ))
    rules = icd.restriction(icd.age, code)
    if not rules or claim.ngay_sinh is None or claim.ngay_vao is None or claim.ngay_sinh_partial:
        return
    born, visit = claim.ngay_sinh, claim.ngay_vao.date()
    if born > visit:
        return  # date_order already says so
    days = (visit - born).days
    years = visit.year - born.year - ((visit.month, visit.day) < (born.month, born.day))
    for rule in rules:  # type: ignore[union-attr]
        age = days if rule.unit == "days" else years
        if not rule.allows(age):
            out.append(make_issue(
                "icd_age_restricted", table="XML1", field=name, ma_lk=claim.ma_lk, value=code,
                allowed=rule.text,
            ))
            return
