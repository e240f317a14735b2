"""The health-insurance card: its shape, its validity on the visit day, and the benefit level claimed.

MA_THE_BHYT (docs/domain.md §6; QĐ 130 Bảng 1): 15 characters = 2-letter group + benefit digit 1–5 +
2-digit issuing province + 10-digit social-insurance number; several cards joined by ';', and
GT_THE_TU / GT_THE_DEN then list one validity period per card, joined the same way.
Card numbers are personal data: messages say which card (1st, 2nd…) and what is wrong, never the number.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.claims.domain import values
from services.claims.domain.records import Claim, Issue, field_name
from services.claims.reference import base_salary
from services.claims.validation.catalog import make_issue
from services.claims.validation.context import ValidationContext
from services.common.money import format_vnd

# Benefit digit -> share paid by the fund, % (Luật BHYT Điều 22 k1; QĐ 1351/QĐ-BHXH mã quyền lợi).
BENEFIT_RATE = {"1": 100, "2": 100, "3": 95, "4": 80, "5": 100}
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def card_problem(card: str) -> str | None:
    """Why a single card number is malformed, or None."""
    if len(card) != 15:
        return f"có {len(card)} ký tự, phải là 15"
    if card[0] not in _UPPER or card[1] not in _UPPER:
        return "2 ký tự đầu (mã đối tượng) phải là chữ cái in hoa"
    if card[2] not in BENEFIT_RATE:
        return "ký tự thứ 3 (mức hưởng) phải là chữ số từ 1 đến 5"
    if not (card[3:].isascii() and card[3:].isdigit()):
        return "12 ký tự cuối (mã tỉnh và mã số BHXH) phải là chữ số"
    return None


def split(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [raw.strip()] if ";" not in raw else [part.strip() for part in raw.split(";")]


def check(claim: Claim, ctx: ValidationContext, out: list[Issue]) -> None:
    cards = split(claim.ma_the_bhyt)
    card_field = field_name(claim.standard, "MA_THE_BHYT")
    good_cards = []
    for n, card in enumerate(cards, 1):
        problem = card_problem(card)
        if problem is None:
            good_cards.append(card)
        else:
            out.append(make_issue(
                "card_format", table="XML1", field=card_field, ma_lk=claim.ma_lk, n=n, detail=problem,
            ))
    periods = _periods(claim, out)
    if periods is not None and periods and claim.ngay_vao is not None:
        visit = claim.ngay_vao.date()
        if not any(start <= visit <= end for start, end in periods):
            out.append(make_issue(
                "card_not_valid_on_date", table="XML1", field="GT_THE_DEN", ma_lk=claim.ma_lk,
                visit=visit.strftime("%d/%m/%Y"),
                ranges="; ".join(f"{s:%d/%m/%Y}–{e:%d/%m/%Y}" for s, e in periods),
            ))
    if good_cards and len(good_cards) == len(cards):
        _benefit(claim, ctx, good_cards, out)


# (GT_THE_TU, GT_THE_DEN) as written -> their periods, when readable: a card's validity repeats on every visit.
_READ: dict[tuple[str | None, str | None], list[tuple[date, date]]] = {}
_READ_MAX = 20_000


def _periods(claim: Claim, out: list[Issue]) -> list[tuple[date, date]] | None:
    """Validity periods, or None when they cannot be read (value_invalid raised)."""
    key = (claim.gt_the_tu, claim.gt_the_den)
    periods = _READ.get(key)
    if periods is None:
        periods = _read_periods(claim, out)
        if periods is not None:
            if len(_READ) >= _READ_MAX:
                _READ.clear()
            _READ[key] = periods
    return periods


def _read_periods(claim: Claim, out: list[Issue]) -> list[tuple[date, date]] | None:
    starts, ends = split(claim.gt_the_tu), split(claim.gt_the_den)
    if not starts or not ends:
        return None  # missing_field says so; not also a count mismatch
    parsed: dict[str, list[date]] = {}
    for name, raw in (("GT_THE_TU", starts), ("GT_THE_DEN", ends)):
        days = []
        for text in raw:
            try:
                days.append(values.day(text))
            except values.BadValue as exc:
                out.append(make_issue(
                    "value_invalid", table="XML1", field=name, ma_lk=claim.ma_lk, value=text, detail=exc.detail,
                ))
                return None
        parsed[name] = days
    if len(starts) != len(ends):
        out.append(make_issue(
            "value_invalid", table="XML1", field="GT_THE_DEN", ma_lk=claim.ma_lk,
            value=claim.gt_the_den, detail="số thời hạn GT_THE_TU và GT_THE_DEN không bằng nhau",
        ))
        return None
    return list(zip(parsed["GT_THE_TU"], parsed["GT_THE_DEN"], strict=True))


def _benefit(claim: Claim, ctx: ValidationContext, cards: list[str], out: list[Issue]) -> None:
    """muc_huong_inconsistent: a line paid above what the card (or a 100 % rule) allows."""
    digit = max(cards, key=lambda c: BENEFIT_RATE[c[2]])[2]
    allowed = Decimal(BENEFIT_RATE[digit])
    if allowed == 100 or ctx.commune_station or claim.ngay_mien_cct:
        return  # 100 % applies: nothing can exceed it (percent range is money's check)
    if claim.t_tongchi_bh is None or claim.ngay_vao is None:
        return
    salary = base_salary(claim.ngay_vao.date())
    if salary is None:
        return  # before the base salaries we ship: cannot tell a low-cost visit
    floor = salary * ctx.low_cost_share
    if claim.t_tongchi_bh < floor:
        return  # low-cost visit: paid in full
    reason = (
        f"thẻ có mức hưởng {digit} ({allowed}%), chi phí lần khám {format_vnd(claim.t_tongchi_bh)} không thấp hơn "
        f"{(ctx.low_cost_share * 100).normalize():f}% lương cơ sở ({format_vnd(floor)})"
    )
    for line in claim.lines:
        if line.muc_huong is not None and line.muc_huong > allowed and (line.thanh_tien_bh or 0) > 0:
            out.append(make_issue(
                "muc_huong_inconsistent", table=line.table, field="MUC_HUONG", ma_lk=claim.ma_lk,
                line=line.index, stt=line.stt, value=line.muc_huong,
                detail=f"{reason}, được hưởng tối đa {allowed}%",
            ))
            return
