"""Allocation rules: where money may go, how much of it is left, what a sub-allocation, a disbursement,
a reversal or an adjustment may do with it. Plain Python over the facts the repository reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from services.common import sources, surplus, units
from services.common.errors import DomainError, error
from services.common.money import format_vnd
from services.finance.domain.checks import check_positive, check_reversal_size, raise_if
from services.finance.domain.reference import FinanceReference

# --------------------------------------------------------------------------- facts the rules read


@dataclass(frozen=True)
class PlanFacts:
    id: int
    number: str
    unit: str
    period_from: int
    period_to: int
    parent_id: int | None
    # The sources the plan's section III names (services/common/reference/plans/*.yaml); None: not known.
    sources: frozenset[str] | None = None


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
    fund_year: int | None = None  # the 20% surplus's fund year (None for other sources)
    use: str | None = None  # the surplus's legal use
    # The budget year end (docs/finance.md "Budget year end"): Σ chuyển nguồn, Σ quyết toán (money that
    # lapsed), and Σ disbursed on dates after the fiscal year (a reversal counts on its original's date).
    carried_over: int = 0
    closed: int = 0
    disbursed_after: int = 0

    @property
    def allocated(self) -> int:
        return self.amount + self.adjustments

    @property
    def used(self) -> int:
        return self.children + self.disbursed

    def after_payment(self, amount: int, on: date) -> AllocationFacts:
        """The facts once a payment of `amount` dated `on` is recorded, as the database would sum them again (a
        payment dated after the fiscal year counts in `disbursed_after` too): what the next row of an imported
        sheet is checked against."""
        later = amount if on.year > self.fiscal_year else 0
        return replace(self, disbursed=self.disbursed + amount, disbursed_after=self.disbursed_after + later)

    @property
    def year_ended(self) -> bool:
        """A carry-over or a close is recorded: from then on the year's money and the next year's are apart."""
        return self.carried_over > 0 or self.closed > 0

    @property
    def undisbursed_at_year_end(self) -> int:
        """What the allocation itself still held on 31/12: allocated − Σ children − disbursed within the year.
        Its sub-allocations' money is theirs to carry over or close, never the parent's."""
        return self.allocated - self.children - (self.disbursed - self.disbursed_after)

    @property
    def year_end_open(self) -> int:
        """Of the money held on 31/12, what no carry-over or close has decided yet."""
        return self.undisbursed_at_year_end - self.carried_over - self.closed

    @property
    def carried_over_left(self) -> int:
        """Carried-over money not yet paid out in the next year."""
        return max(self.carried_over - self.disbursed_after, 0)

    @property
    def remaining(self) -> int:
        """What may still be passed down or paid out within the fiscal year: allocated − Σ children − disbursed
        − closed − carried-over money still to pay (that is next year's). Without year-end records it is
        allocated − Σ children − disbursed, as always. Payments dated after the year not covered by a
        carry-over come out of it too (they wait for the carry-over that covers them)."""
        return self.allocated - self.used - self.closed - self.carried_over_left


def check_source(
    source: str, fiscal_year: int, kind: str, fund_year: int | None, use: str | None = None, *, ref: FinanceReference
) -> list[dict]:
    """The source exists, the kind exists and may spend from it, and the 20% surplus rule holds."""
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
        out.append(
            error(
                "source_not_allowed_for_kind",
                f"{k.name} không chi từ nguồn '{src.name}'; nguồn được dùng: {sources.names(k.sources)}.",
                "source",
            )
        )
    # The 20% surplus: one rule for finance and investment (services/common/surplus.py).
    out += surplus.check(source, fiscal_year, fund_year, use)
    return out


def check_source_in_plan(plan: PlanFacts, source: str) -> list[dict]:
    """A root allocation brings money into the plan: only from a source its section III names (docs/domain.md
    §1, §2). A sub-allocation passes money already in the ledger and is not asked again."""
    if plan.sources is None or source in plan.sources:
        return []
    return [
        error(
            "source_not_in_plan",
            f"Mục III (kinh phí thực hiện) của kế hoạch {plan.number} không nêu nguồn '{sources.name(source)}'; "
            f"phân bổ gốc của kế hoạch này chỉ từ các nguồn: {sources.names(plan.sources)}.",
            "source",
        )
    ]


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


# --------------------------------------------------------------------------- the ledger's rules


def most_local_plan(parent_plan_id: int, candidates: list[PlanFacts], recipient: str) -> int:
    """A sub-allocation is booked to the most local plan whose territory holds the recipient (a province
    allocation passed to district 910 lands on the district plan 34/KH-UBND), else the parent's plan."""
    best, best_depth = parent_plan_id, -1
    for plan in candidates:
        if units.is_known_unit(plan.unit) and units.within(plan.unit, recipient):
            depth = len(plan.unit)
            if depth > best_depth:
                best, best_depth = plan.id, depth
    return best


def check_same_fund(parent: AllocationFacts, fund_year: int | None, use: str | None) -> None:
    """The 20% surplus passed down stays the same fund year's money, for the same legal use."""
    if fund_year != parent.fund_year:
        raise DomainError.one(
            "sub_allocation_mismatch",
            f"Phân bổ cấp dưới phải giữ năm quỹ của phân bổ cấp trên số {parent.id} ({parent.fund_year}).",
            "fund_year",
        )
    if use != parent.use:
        raise DomainError.one(
            "sub_allocation_mismatch",
            f"Phân bổ cấp dưới phải giữ nội dung sử dụng của phân bổ cấp trên số {parent.id}.",
            "use",
        )


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
            f"Phân bổ cấp trên số {parent.id} chỉ còn {format_vnd(parent.remaining)} chưa phân bổ/giải ngân "
            f"(đã giao {format_vnd(parent.allocated)}); không thể phân bổ tiếp {format_vnd(amount)}.",
            "amount",
        )


def check_disbursement(alloc: AllocationFacts, amount: int, on: date | None = None) -> None:
    """At most what the allocation has left. Once its year is ended (a carry-over or close recorded), a
    payment dated in the next year draws only on the carried-over money, and none is paid later than that."""
    raise_if(check_positive(amount))
    if on is not None and on.year > alloc.fiscal_year and alloc.year_ended:
        if on.year > alloc.fiscal_year + 1:
            raise DomainError.one(
                "carried_over_expired",
                f"Phân bổ số {alloc.id} thuộc năm ngân sách {alloc.fiscal_year}: số chuyển nguồn chỉ được giải ngân "
                f"trong năm {alloc.fiscal_year + 1}, không phải ngày {on.strftime('%d/%m/%Y')}.",
                "date",
            )
        if amount > alloc.carried_over_left:
            raise DomainError.one(
                "exceeds_carried_over",
                f"Năm {on.year} chỉ được giải ngân từ số chuyển nguồn của phân bổ số {alloc.id}: còn "
                f"{format_vnd(alloc.carried_over_left)} (đã chuyển nguồn {format_vnd(alloc.carried_over)}, "
                f"đã quyết toán {format_vnd(alloc.closed)}); không thể giải ngân {format_vnd(amount)}.",
                "amount",
            )
        return
    if amount > alloc.remaining:
        raise DomainError.one(
            "exceeds_allocation",
            f"Giải ngân {format_vnd(amount)} vượt số còn lại {format_vnd(alloc.remaining)} của phân bổ số {alloc.id} "
            f"(đã giao {format_vnd(alloc.allocated)}, đã giải ngân {format_vnd(alloc.disbursed)}, "
            f"đã phân bổ xuống cấp dưới {format_vnd(alloc.children)}).",
            "amount",
        )


def check_reversal(original_amount: int, already_reversed: int, amount: int, disbursement_id: int) -> None:
    """`amount` is the positive size of the reversal; a reversal never undoes more than was paid."""
    check_reversal_size(
        original_amount, already_reversed, amount, f"Lần giải ngân số {disbursement_id}", "exceeds_disbursement"
    )


def check_adjustment(alloc: AllocationFacts, parent: AllocationFacts | None, amount: int) -> None:
    """Up: a sub-allocation's increase comes out of its parent's remaining money. Down: never below
    what the allocation has already passed down or paid out (nor below zero)."""
    if amount == 0:
        raise DomainError.one("amount_not_positive", "Số tiền điều chỉnh phải khác 0 đồng.", "amount")
    if amount > 0 and parent is not None and amount > parent.remaining:
        raise DomainError.one(
            "exceeds_parent",
            f"Phân bổ cấp trên số {parent.id} chỉ còn {format_vnd(parent.remaining)}; không thể tăng phân bổ số "
            f"{alloc.id} thêm {format_vnd(amount)}.",
            "amount",
        )
    if amount < 0 and alloc.remaining + amount < 0:
        raise DomainError.one(
            "below_used",
            f"Không thể giảm phân bổ số {alloc.id} xuống {format_vnd(alloc.allocated + amount)}: đã giải ngân "
            f"{format_vnd(alloc.disbursed)} và đã phân bổ xuống cấp dưới {format_vnd(alloc.children)}.",
            "amount",
        )


def check_linked_capital(alloc: AllocationFacts, linked: int | None, taken: int) -> None:
    """Capital that investment records as funded by `alloc` (a project's `funded_by_allocation`) is money the
    allocation holds for those projects, counted once in the funding answers. Whatever takes `taken` more out of
    what the allocation keeps — allocated less Σ sub-allocations: a reduction of it, a sub-allocation from it, the
    increase of one of its sub-allocations — must leave that capital covered. It is the room the gateway sends
    investment when a link is made (docs/investment.md), seen from the other side.

    `linked`: Σ of that capital as investment answered the gateway just before; None when the caller did not ask
    (only the gateway talks to both services, and it always asks): nothing is known to check."""
    if linked is None or linked <= 0 or taken <= 0:
        return
    kept = alloc.allocated - alloc.children - taken
    if kept < linked:
        raise DomainError.one(
            "below_linked_capital",
            f"Phân bổ số {alloc.id} là nguồn của {format_vnd(linked)} vốn giao cho dự án đầu tư; sau thay đổi này "
            f"phân bổ chỉ còn giữ {format_vnd(max(kept, 0))} (đã giao {format_vnd(alloc.allocated)}, đã phân bổ "
            f"xuống cấp dưới {format_vnd(alloc.children)}). Giảm vốn giao của dự án trước.",
            "amount",
        )
