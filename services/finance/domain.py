"""Finance business rules in plain Python: no nameko, no Flask, no database session.

The ledger (ledger.py) reads the facts a rule needs, calls it here, and writes what it allows. Every
refusal is a `DomainError` with a stable code and a Vietnamese message (docs/finance.md lists them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from services.common import surplus, units, workdays
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


def check_source(
    source: str, fiscal_year: int, kind: str, fund_year: int | None, use: str | None = None
) -> list[dict]:
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
    # The 20% surplus: one rule for finance and investment (services/common/surplus.py).
    out += surplus.check(source, fiscal_year, fund_year, use)
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
    quarter: Quarter | int,
    cards: int | None,
    rate_per_card: int | None,
    coefficient: object | None,
    groups: list[dict] | None = None,
) -> CapitationFund:
    fund_year = quarter if isinstance(quarter, int) else quarter.year
    year = reference().capitation.years.get(fund_year)
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
    q = parse_quarter(text, field)
    return q.year, q


# --------------------------------------------------------------------------- quarterly report, result, payment
# Luật BHYT Điều 32 (as amended by Luật 51/2024); NĐ 146/2018 Điều 36 k5 (docs/domain.md §4).

ADVANCE_WORKING_DAYS = 5  # the advance: within 5 working days of receiving the report
REPORT_DAYS = 15  # the report: within the first 15 days of the next quarter
PAYMENT_DAYS = 10  # the payment: within 10 days of the result
LONG_Q4_FROM = date(2025, 7, 1)  # Luật 51/2024: 60 days for quarter 4 from 01/7/2025


def result_days(quarter: Quarter, received: date) -> int:
    """Days BHXH has to notify its assessed result after receiving the report."""
    return 60 if quarter.quarter == 4 and received >= LONG_Q4_FROM else 30


def report_due(quarter: Quarter) -> date:
    return quarter.next().start + timedelta(days=REPORT_DAYS - 1)


def advance_of(total: Decimal) -> int:
    """80% (advance_share) of the report's BHYT cost, all payment methods, half up to the đồng."""
    return round_vnd(Decimal(total) * reference().capitation.advance_share)


@dataclass(frozen=True)
class ReportTerms:
    advance: int
    advance_period: Quarter
    advance_due: date
    result_due: date


def report_terms(quarter: Quarter, received: date, total: Decimal, today: date) -> ReportTerms:
    if received <= quarter.end:
        raise DomainError.one(
            "report_before_quarter_end",
            f"Báo cáo quyết toán quý {quarter} chỉ nhận được sau khi hết quý ({quarter.end:%d/%m/%Y}).",
            "received_date",
        )
    if received > today:
        raise DomainError.one("date_in_future", "Ngày nhận báo cáo không được sau hôm nay.", "received_date")
    try:
        advance_due = workdays.add_working_days(received, ADVANCE_WORKING_DAYS)
    except workdays.CalendarNotCovered as exc:
        raise DomainError.one("calendar_not_covered", str(exc), "received_date") from None
    return ReportTerms(
        advance_of(total),
        quarter.next(),
        advance_due,
        received + timedelta(days=result_days(quarter, received)),
    )


def payment_due(result_date: date) -> date:
    return result_date + timedelta(days=PAYMENT_DAYS)


PAYMENT_KINDS = ("payment", "refund", "offset")


def check_payment(
    quarter: Quarter, to_pay: int, settled: int, kind: str, amount: int, offset_period: Quarter | None
) -> None:
    """`to_pay` > 0: BHXH pays it; < 0: the excess advance comes back as a refund or an offset against a later
    quarter. Never more than is left (`settled`: what is already recorded)."""
    errs = check_positive(amount)
    if kind not in PAYMENT_KINDS:
        errs.append(error("invalid_kind", "Loại phải là payment, refund hoặc offset.", "kind"))
    elif to_pay >= 0 and kind != "payment":
        errs.append(error("no_excess_advance", "Quý này không có tạm ứng thừa để thu hồi hay bù trừ.", "kind"))
    elif to_pay < 0 and kind == "payment":
        errs.append(
            error(
                "excess_advance",
                f"Tạm ứng vượt số được duyệt {_vn(-to_pay)}: ghi thu hồi (refund) hoặc bù trừ (offset).",
                "kind",
            )
        )
    if kind == "offset":
        if offset_period is None:
            errs.append(error("required", "Bù trừ phải ghi quý được trừ (offset_period).", "offset_period"))
        elif offset_period <= quarter:
            errs.append(error("invalid_period", "Quý bù trừ phải sau quý quyết toán.", "offset_period"))
    elif offset_period is not None:
        errs.append(error("not_applicable", "Chỉ bù trừ mới ghi quý được trừ.", "offset_period"))
    if not errs and settled + amount > abs(to_pay):
        errs.append(
            error(
                "exceeds_result",
                f"Còn {_vn(abs(to_pay) - settled)} phải thanh toán theo kết quả quý {quarter}; "
                f"không ghi {_vn(amount)}.",
                "amount",
            )
        )
    raise_if(errs)


def step(due: date | None, done: date | None, today: date) -> dict:
    """A dated step: when it was due, when it happened, and whether it is late or overdue now."""
    return {
        "due": due.isoformat() if due else None,
        "date": done.isoformat() if done else None,
        "late": bool(due and done and done > due),
        "overdue": bool(due and done is None and today > due),
    }
