"""Finance business rules in plain Python: no nameko, no Flask, no database session.

The ledger (ledger.py) reads the facts a rule needs, calls it here, and writes what it allows. Every
refusal is a `DomainError` with a stable code and a Vietnamese message (docs/finance.md lists them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from services.common import units
from services.common.errors import DomainError, error
from services.common.money import format_vnd, round_vnd
from services.common.periods import PeriodError, Quarter
from services.finance.reference import reference

# MA_CSKCB: 5 characters, the 2-digit province code first (docs/domain.md §6; Kiên Giang = 91); the rest digits
# or capital letters, as the gateway's facility register accepts them.
FACILITY_CODE = re.compile(r"^\d{2}[0-9A-Z]{3}$")
RATE_PLACES = Decimal("0.0001")


# --------------------------------------------------------------------------- facts the rules read


@dataclass(frozen=True)
class PlanFacts:
    id: int
    number: str
    unit: str
    period_from: int
    period_to: int
    parent_id: int | None


@dataclass(frozen=True)
class AllocationFacts:
    """One allocation and how much of it is already used (all sums in whole đồng)."""

    id: int
    plan_id: int
    item_code: str
    source: str
    fiscal_year: int
    recipient_unit: str
    kind: str
    parent_id: int | None
    amount: int  # the first decision
    adjustments: int  # Σ điều chỉnh (signed)
    children: int  # Σ allocated of its direct sub-allocations (their adjustments included)
    disbursed: int  # Σ giải ngân directly against it, reversals netted

    @property
    def allocated(self) -> int:
        return self.amount + self.adjustments

    @property
    def used(self) -> int:
        return self.children + self.disbursed

    @property
    def remaining(self) -> int:
        """What may still be passed down or paid out: allocated − Σ children − disbursed."""
        return self.allocated - self.used


# --------------------------------------------------------------------------- small checks


def _vn(amount: int) -> str:
    return format_vnd(amount)


def check_positive(amount: int, field: str = "amount") -> list[dict]:
    if amount <= 0:
        return [error("amount_not_positive", "Số tiền phải lớn hơn 0 đồng.", field)]
    return []


def check_decision(number: str | None, on: date | None, today: date, prefix: str = "decision") -> list[dict]:
    """A deciding document needs its number, and cannot be dated in the future."""
    out = []
    if not number or not number.strip():
        out.append(error("invalid_decision", "Thiếu số quyết định (văn bản giao/điều chỉnh).", f"{prefix}_no"))
    if on is None:
        out.append(error("invalid_decision", "Thiếu ngày quyết định.", f"{prefix}_date"))
    elif on > today:
        out.append(
            error(
                "invalid_decision",
                f"Ngày quyết định {on.strftime('%d/%m/%Y')} chưa tới (sau ngày {today.strftime('%d/%m/%Y')}).",
                f"{prefix}_date",
            )
        )
    return out


def check_source(source: str, fiscal_year: int, kind: str, fund_year: int | None) -> list[dict]:
    ref = reference()
    out: list[dict] = []
    src = ref.sources.get(source)
    if src is None:
        codes = ", ".join(ref.sources)
        return [error("unknown_source", f"Không có nguồn kinh phí mã '{source}' (các mã: {codes}).", "source")]
    k = ref.kinds.get(kind)
    if k is None:
        kinds = ", ".join(ref.kinds)
        return [error("unknown_kind", f"Không có loại phân bổ '{kind}' (các loại: {kinds}).", "kind")]
    if k.sources is not None and source not in k.sources:
        allowed = ", ".join(sorted(k.sources))
        out.append(
            error(
                "source_not_allowed_for_kind",
                f"{k.name} không chi từ nguồn '{src.name}'; nguồn được dùng: {allowed}.",
                "source",
            )
        )
    if src.last_fund_year is not None:
        year = fund_year if fund_year is not None else fiscal_year
        if year > src.last_fund_year:
            out.append(
                error(
                    "surplus_source_closed",
                    f"Nguồn {src.name} chỉ áp dụng cho quỹ năm {src.last_fund_year} trở về trước; từ năm "
                    f"{src.last_fund_year + 1} toàn bộ kết dư được chuyển vào quỹ dự phòng ({src.legal_basis}). "
                    f"Năm quỹ {year} không được dùng nguồn này.",
                    "fund_year" if fund_year is not None else "fiscal_year",
                )
            )
        if fund_year is not None and fund_year > fiscal_year:
            out.append(
                error(
                    "fund_year_after_fiscal_year",
                    f"Năm quỹ {fund_year} sau năm ngân sách {fiscal_year}: kết dư chỉ được phân bổ sau khi quyết toán.",
                    "fund_year",
                )
            )
    elif fund_year is not None:
        out.append(error("fund_year_not_applicable", f"Nguồn {src.name} không có năm quỹ riêng.", "fund_year"))
    return out


def check_unit(code: str, on: date | None = None, field: str = "recipient_unit") -> list[dict]:
    """The recipient is a unit in force on the document's date (`on`), else unit_not_in_force naming its
    successor (services/common/units.py holds the one rule)."""
    return units.check_unit(code, on, field)


def check_plan_year(plan: PlanFacts, fiscal_year: int) -> list[dict]:
    if not plan.period_from <= fiscal_year <= plan.period_to:
        return [
            error(
                "year_outside_plan",
                f"Năm ngân sách {fiscal_year} nằm ngoài thời kỳ {plan.period_from}–{plan.period_to} "
                f"của kế hoạch {plan.number}.",
                "fiscal_year",
            )
        ]
    return []


def check_recipient_in_plan(plan: PlanFacts, recipient: str) -> list[dict]:
    """A plan spends on its own territory: a district plan's money goes to the district or its communes."""
    if units.is_known_unit(recipient) and not units.within(plan.unit, recipient):
        return [
            error(
                "recipient_outside_plan",
                f"Đơn vị nhận {recipient} không thuộc địa bàn của kế hoạch {plan.number} (đơn vị {plan.unit}).",
                "recipient_unit",
            )
        ]
    return []


def raise_if(errors: list[dict], status: int = 422) -> None:
    if errors:
        raise DomainError(errors, status)


# --------------------------------------------------------------------------- the ledger's rules


def check_sub_allocation(
    parent: AllocationFacts,
    plan_ids_below_parent_plan: set[int],
    plan_id: int,
    item_code: str,
    source: str,
    fiscal_year: int,
    kind: str,
    recipient: str,
    amount: int,
) -> None:
    """A sub-allocation passes part of its parent's money one level down: the same money.

    It keeps the parent's source, fiscal year and kind; it is booked to the parent's plan or a plan
    applying it (province plan → district plan), to the parent's item or one of its sub-items; its
    recipient lies strictly below the parent's; and it cannot exceed what the parent has left.
    """
    errs: list[dict] = []
    for field, mine, theirs in (
        ("source", source, parent.source),
        ("fiscal_year", fiscal_year, parent.fiscal_year),
        ("kind", kind, parent.kind),
    ):
        if mine != theirs:
            errs.append(
                error(
                    "sub_allocation_mismatch",
                    f"Phân bổ cấp dưới phải giữ {field} của phân bổ cấp trên số {parent.id} ({theirs}), "
                    f"không phải {mine}.",
                    field,
                )
            )
    if plan_id != parent.plan_id and plan_id not in plan_ids_below_parent_plan:
        errs.append(
            error(
                "sub_allocation_mismatch",
                f"Phân bổ cấp dưới phải thuộc kế hoạch của phân bổ cấp trên (số {parent.plan_id}) "
                "hoặc kế hoạch cấp dưới triển khai kế hoạch đó.",
                "plan_id",
            )
        )
    if item_code != parent.item_code and not item_code.startswith(parent.item_code + "."):
        errs.append(
            error(
                "sub_allocation_mismatch",
                f"Phân bổ cấp dưới phải thuộc mục {parent.item_code} hoặc một mục con của nó, không phải {item_code}.",
                "item_code",
            )
        )
    if recipient == parent.recipient_unit or not units.within(parent.recipient_unit, recipient):
        errs.append(
            error(
                "not_below_parent",
                f"Đơn vị nhận {recipient} phải là đơn vị cấp dưới của {parent.recipient_unit} "
                f"(đơn vị nhận phân bổ cấp trên số {parent.id}).",
                "recipient_unit",
            )
        )
    raise_if(errs)
    if amount > parent.remaining:
        raise DomainError.one(
            "exceeds_parent",
            f"Phân bổ cấp trên số {parent.id} chỉ còn {_vn(parent.remaining)} chưa phân bổ/giải ngân "
            f"(đã giao {_vn(parent.allocated)}); không thể phân bổ tiếp {_vn(amount)}.",
            "amount",
        )


def check_disbursement(alloc: AllocationFacts, amount: int) -> None:
    raise_if(check_positive(amount))
    if amount > alloc.remaining:
        raise DomainError.one(
            "exceeds_allocation",
            f"Giải ngân {_vn(amount)} vượt số còn lại {_vn(alloc.remaining)} của phân bổ số {alloc.id} "
            f"(đã giao {_vn(alloc.allocated)}, đã giải ngân {_vn(alloc.disbursed)}, "
            f"đã phân bổ xuống cấp dưới {_vn(alloc.children)}).",
            "amount",
        )


def check_reversal(original_amount: int, already_reversed: int, amount: int, disbursement_id: int) -> None:
    """`amount` is the positive size of the reversal; a reversal never undoes more than was paid."""
    if original_amount <= 0:
        raise DomainError.one(
            "not_reversible", f"Bản ghi giải ngân số {disbursement_id} là một bút toán hủy, không hủy tiếp được.", "id"
        )
    left = original_amount - already_reversed
    if left == 0:
        raise DomainError.one("already_reversed", f"Lần giải ngân số {disbursement_id} đã bị hủy toàn bộ.", "id")
    raise_if(check_positive(amount))
    if amount > left:
        raise DomainError.one(
            "exceeds_disbursement",
            f"Chỉ còn {_vn(left)} của lần giải ngân số {disbursement_id} chưa bị hủy; không thể hủy {_vn(amount)}.",
            "amount",
        )


def check_adjustment(alloc: AllocationFacts, parent: AllocationFacts | None, amount: int) -> None:
    """Up: a sub-allocation's increase comes out of its parent's remaining money. Down: never below
    what the allocation has already passed down or paid out (nor below zero)."""
    if amount == 0:
        raise DomainError.one("amount_not_positive", "Số tiền điều chỉnh phải khác 0 đồng.", "amount")
    if amount > 0 and parent is not None and amount > parent.remaining:
        raise DomainError.one(
            "exceeds_parent",
            f"Phân bổ cấp trên số {parent.id} chỉ còn {_vn(parent.remaining)}; không thể tăng phân bổ số "
            f"{alloc.id} thêm {_vn(amount)}.",
            "amount",
        )
    if amount < 0 and alloc.allocated + amount < alloc.used:
        raise DomainError.one(
            "below_used",
            f"Không thể giảm phân bổ số {alloc.id} xuống {_vn(alloc.allocated + amount)}: đã giải ngân "
            f"{_vn(alloc.disbursed)} và đã phân bổ xuống cấp dưới {_vn(alloc.children)}.",
            "amount",
        )


def execution_rate(allocated: int, disbursed: int) -> str | None:
    """Tỷ lệ giải ngân = disbursed ÷ allocated, 4 decimals ("0.4523"); None when nothing is allocated."""
    if allocated <= 0:
        return None
    return str((Decimal(disbursed) / Decimal(allocated)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------- capitation (định suất)


def parse_facility(code: object, field: str = "facility_code") -> str:
    if not isinstance(code, str) or not FACILITY_CODE.match(code.strip()):
        raise DomainError.one(
            "invalid_facility",
            f"Mã cơ sở KCB (MA_CSKCB) gồm 5 ký tự, 2 chữ số mã tỉnh đứng đầu (ví dụ 91001), không phải {code!r}.",
            field,
        )
    return code.strip()


def parse_quarter(text: object, field: str = "period") -> Quarter:
    try:
        return Quarter.parse(text)  # type: ignore[arg-type]
    except PeriodError:
        raise DomainError.one(
            "invalid_period", f"Kỳ phải có dạng YYYY-Qn (ví dụ 2024-Q3), không phải {text!r}.", field
        ) from None


def parse_decimal(value: object, field: str) -> Decimal:
    """A decimal given as a string or an exact number; floats are refused (they are not exact)."""
    if isinstance(value, bool | float):
        raise DomainError.one("invalid_decimal", 'Hệ số phải là chuỗi số thập phân, ví dụ "1.05".', field)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError.one("invalid_decimal", f"Giá trị {value!r} không phải số thập phân.", field) from None
    if not d.is_finite() or d <= 0:
        raise DomainError.one("invalid_decimal", "Hệ số phải là số dương.", field)
    return d


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
    quarter: Quarter,
    cards: int | None,
    rate_per_card: int | None,
    coefficient: object | None,
    groups: list[dict] | None = None,
) -> CapitationFund:
    year = reference().capitation.years.get(quarter.year)
    defaults: list[str] = []
    errs: list[dict] = []
    if coefficient is None:
        if year is None or year.coefficient is None:
            raise DomainError.one(
                "coefficient_not_configured",
                f"Chưa có hệ số điều chỉnh định suất năm {quarter.year}; hãy gửi kèm 'coefficient'.",
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
                f"Chưa có mức định suất trên một thẻ năm {quarter.year}; hãy gửi kèm 'rate_per_card'.",
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


def advance_suggestion(previous_spend: Decimal | None) -> int | None:
    """Tạm ứng thường lệ: advance_share (80%) of the previous quarter's cost, rounded half up to the đồng."""
    if previous_spend is None:
        return None
    return round_vnd(previous_spend * reference().capitation.advance_share)


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


def settle(fund: int, spend: Decimal, advanced: int, station_share_rate: Decimal | None = None) -> Settlement:
    rate = reference().capitation.station_surplus_share if station_share_rate is None else station_share_rate
    if not Decimal(0) <= rate <= Decimal(1):
        raise DomainError.one(
            "invalid_share", "Tỷ lệ chuyển cho trạm y tế xã phải trong khoảng 0 đến 1.", "station_share_rate"
        )
    return Settlement(fund, spend, round_vnd(spend), advanced, rate)
