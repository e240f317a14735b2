"""Capitation (định suất): the fund of a facility, and its settlement against what the facility spent.

Luật BHYT Điều 30 and Nghị định 146/2018/NĐ-CP Điều 25: the fund is Σ(cards × rate per card) × the year's
coefficient; the year's settlement is final (a surplus partly passed to the commune stations by decision, a
deficit borne by the facility), a quarter's is a provisional view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.common.errors import DomainError, error
from services.common.money import round_vnd
from services.common.periods import Quarter, quarter_or_refuse
from services.finance.domain.checks import parse_decimal, raise_if
from services.finance.domain.reference import CapitationSettings


@dataclass(frozen=True)
class CardGroup:
    group: str
    cards: int
    rate_per_card: int


@dataclass(frozen=True)
class CapitationFund:
    """Quỹ định suất = round(Σ (cards × rate per card) × coefficient), half up to the đồng, with its inputs."""

    groups: tuple[CardGroup, ...]
    coefficient: Decimal
    base: int  # Σ cards × rate, before the coefficient
    fund: int
    defaults_used: tuple[str, ...]  # which inputs came from the year's reference data

    @property
    def cards(self) -> int:
        return sum(g.cards for g in self.groups)

    def inputs(self) -> dict:
        return {
            "groups": [{"group": g.group, "cards": g.cards, "rate_per_card": g.rate_per_card} for g in self.groups],
            "cards": self.cards,
            "coefficient": str(self.coefficient),
            "base": self.base,
            "formula": "round_half_up(Σ(cards × rate_per_card) × coefficient)",
            "defaults_used": list(self.defaults_used),
            "legal_basis": "Luật BHYT Điều 30; Nghị định 146/2018/NĐ-CP Điều 25",
        }


def capitation_fund(
    quarter: Quarter | int,
    cards: int | None,
    rate_per_card: int | None,
    coefficient: object | None,
    groups: list[dict] | None = None,
    *,
    settings: CapitationSettings,
) -> CapitationFund:
    """The fund of a year (or a provisional quarter); a missing coefficient or rate per card comes from the
    year's `settings`, and the answer says which inputs did."""
    fund_year = quarter if isinstance(quarter, int) else quarter.year
    year = settings.years.get(fund_year)
    defaults: list[str] = []
    errs: list[dict] = []
    if coefficient is None:
        if year is None or year.coefficient is None:
            raise DomainError.one(
                "coefficient_not_configured",
                f"Chưa có hệ số điều chỉnh định suất năm {fund_year}; hãy gửi kèm 'coefficient'.",
                "coefficient",
            )
        coef = year.coefficient
        defaults.append("coefficient")
    else:
        coef = parse_decimal(coefficient, "coefficient")

    def default_rate() -> int:
        if year is None or year.rate_per_card is None:
            raise DomainError.one(
                "rate_not_configured",
                f"Chưa có mức định suất trên một thẻ năm {fund_year}; hãy gửi kèm 'rate_per_card'.",
                "rate_per_card",
            )
        defaults.append("rate_per_card")
        return year.rate_per_card

    parsed: list[CardGroup] = []
    if groups:
        if cards is not None or rate_per_card is not None:
            errs.append(
                error(
                    "groups_and_totals",
                    "Gửi hoặc danh sách nhóm thẻ, hoặc cards/rate_per_card, không gửi cả hai.",
                    "groups",
                )
            )
        names = set()
        for i, g in enumerate(groups):
            if g["group"] in names:
                errs.append(error("duplicate_group", f"Nhóm thẻ '{g['group']}' lặp lại.", f"groups.{i}.group"))
            names.add(g["group"])
            parsed.append(CardGroup(g["group"], g["cards"], g["rate_per_card"]))
    else:
        if cards is None:
            errs.append(error("required", "Thiếu số thẻ đăng ký (cards).", "cards"))
        else:
            parsed.append(CardGroup("all", cards, rate_per_card if rate_per_card is not None else default_rate()))
    for i, g in enumerate(parsed):
        if g.cards < 0:
            errs.append(error("invalid_cards", "Số thẻ không được âm.", f"groups.{i}.cards" if groups else "cards"))
        if g.rate_per_card <= 0:
            field = f"groups.{i}.rate_per_card" if groups else "rate_per_card"
            errs.append(error("amount_not_positive", "Mức định suất trên một thẻ phải lớn hơn 0 đồng.", field))
    raise_if(errs)
    base = sum(g.cards * g.rate_per_card for g in parsed)
    return CapitationFund(tuple(parsed), coef, base, round_vnd(Decimal(base) * coef), tuple(defaults))


@dataclass(frozen=True)
class Settlement:
    """Quyết toán quý: the facility keeps a surplus (passing a share to its stations) and bears a deficit."""

    fund: int
    spend: Decimal  # exact, as claims reported it
    spend_vnd: int  # rounded half up to the đồng: payments are whole đồng
    advanced: int
    station_share_rate: Decimal

    @property
    def balance(self) -> int:
        return self.fund - self.spend_vnd

    @property
    def surplus(self) -> int:
        return max(self.balance, 0)

    @property
    def deficit(self) -> int:
        return max(-self.balance, 0)

    @property
    def station_share(self) -> int:
        return round_vnd(Decimal(self.surplus) * self.station_share_rate)

    @property
    def to_pay(self) -> int:
        """What BHXH still owes after the advances (negative: to recover from the facility)."""
        return self.fund - self.advanced


def settle(
    fund: int,
    spend: Decimal,
    advanced: int,
    station_share_rate: Decimal | None = None,
    *,
    provisional: bool = False,
    decision_no: str | None = None,
    decision_date: date | None = None,
) -> Settlement:
    """A year's settlement is final: a surplus passes the share its decision sets to the stations (the law sets
    no percentage, so there is no default). A quarter's is a provisional view and passes nothing."""
    spend_vnd = round_vnd(spend)
    if provisional:
        if station_share_rate is not None:
            raise DomainError.one(
                "station_share_yearly",
                "Kết dư định suất quyết toán theo năm; phần chuyển cho trạm y tế xã chỉ ghi khi quyết toán năm.",
                "station_share_rate",
            )
        return Settlement(fund, spend, spend_vnd, advanced, Decimal(0))
    errs: list[dict] = []
    if fund - spend_vnd > 0:
        if station_share_rate is None:
            errs.append(
                error(
                    "station_share_required",
                    "Kết dư năm: ghi tỷ lệ cơ sở chuyển cho các trạm y tế xã (station_share_rate) theo quyết định; "
                    "pháp luật không quy định tỷ lệ mặc định (NĐ 146/2018 Điều 25).",
                    "station_share_rate",
                )
            )
        if not decision_no or decision_date is None:
            errs.append(
                error(
                    "invalid_decision",
                    "Ghi số và ngày của quyết định/thoả thuận đặt phần chuyển cho trạm y tế xã.",
                    "station_share_decision_no",
                )
            )
    rate = station_share_rate if station_share_rate is not None else Decimal(0)
    if not Decimal(0) <= rate <= Decimal(1):
        errs.append(
            error("invalid_share", "Tỷ lệ chuyển cho trạm y tế xã phải trong khoảng 0 đến 1.", "station_share_rate")
        )
    raise_if(errs)
    if fund - spend_vnd <= 0:
        rate = Decimal(0)  # a deficit is borne by the facility: nothing to pass on
    return Settlement(fund, spend, spend_vnd, advanced, rate)


def parse_fund_period(text: object, field: str = "period") -> tuple[int, Quarter | None]:
    """`YYYY` (the legal, annual fund and the year's settlement) or `YYYY-Qn` (a provisional quarter)."""
    if isinstance(text, str) and re.fullmatch(r"\d{4}", text.strip()):
        year = int(text.strip())
        if 2000 <= year <= 2100:
            return year, None
    q = quarter_or_refuse(text, field)
    return q.year, q
