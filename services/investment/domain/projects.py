"""The rules of an investment project: its sources and years, its status steps, and the guards on its money
(capital never past the estimate or settled cost, disbursements never past the capital of their source).

Section II.5 of 158/KH-UBND and 34/KH-UBND ("tiếp tục đầu tư để hoàn thiện, nâng cao năng lực hệ thống y tế
cơ sở") is what the projects implement. Handlers read the figures under the project's row lock, ask these
functions, and write what they allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from services.common import sources, surplus
from services.common.errors import DomainError, error
from services.common.money import format_vnd

SOURCES = sources.CODES
# The 20% BHYT surplus's rule (fund years 2015–2020, spent in a later year, one of four legal uses) is one
# rule for finance and investment: services/common/surplus.py.
MIN_YEAR, MAX_YEAR = 2000, 2100

KINDS = ("new_build", "renovation", "upgrade", "equipment")
KIND_LABELS = {
    "new_build": "xây mới",
    "renovation": "cải tạo, sửa chữa",
    "upgrade": "nâng cấp",
    "equipment": "mua sắm trang thiết bị",
}
# Kinds that build or rebuild the station itself (for "hoàn thành đầu tư trạm y tế").
BUILDING_KINDS = frozenset({"new_build", "renovation", "upgrade"})


def check_source(
    source: str, fiscal_year: int | None = None, fund_year: int | None = None, use: str | None = None
) -> None:
    """`fiscal_year` None: a disbursement of capital already assigned (its fund year and use were checked then)."""
    if source not in SOURCES:
        raise DomainError.one(
            "unknown_source",
            f"Nguồn vốn '{source}' không có trong danh mục nguồn kinh phí ({', '.join(sorted(SOURCES))}).",
            "source",
        )
    if fiscal_year is not None:
        errors = surplus.check(source, fiscal_year, fund_year, use)
        if errors:
            raise DomainError(errors)


def check_year(year: int | None, field_name: str) -> None:
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise DomainError.one("invalid_year", f"Năm {year} không hợp lệ ({MIN_YEAR}–{MAX_YEAR}).", field_name)


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DomainError.one("invalid_kind", f"Loại dự án phải là một trong: {', '.join(KINDS)}.", "kind")


def check_estimate(amount: int, field_name: str = "estimated_cost") -> None:
    if amount <= 0:
        raise DomainError.one("invalid_amount", "Tổng mức đầu tư phải lớn hơn 0 đồng.", field_name)


def check_years(start_year: int | None, end_year: int | None) -> None:
    check_year(start_year, "start_year")
    check_year(end_year, "end_year")
    if start_year is not None and end_year is not None and end_year < start_year:
        raise DomainError.one(
            "invalid_years", f"Năm kết thúc ({end_year}) trước năm khởi công ({start_year}).", "end_year"
        )


# --------------------------------------------------------------------------- project status

STATUSES = ("proposed", "approved", "under_construction", "completed", "settled")
STATUS_LABELS = {
    "proposed": "đề xuất",
    "approved": "đã phê duyệt",
    "under_construction": "đang thi công",
    "completed": "hoàn thành",
    "settled": "đã quyết toán",
}
INITIAL_STATUSES = ("proposed", "approved", "under_construction")
DONE_STATUSES = frozenset({"completed", "settled"})


def check_initial_status(status: str) -> None:
    if status not in INITIAL_STATUSES:
        raise DomainError.one(
            "invalid_status",
            f"Dự án mới chỉ có thể ở trạng thái {', '.join(INITIAL_STATUSES)}; hoàn thành và quyết toán được ghi sau.",
            "status",
        )


def check_transition(current: str, target: str) -> None:
    """One step forward at a time; `settled` only through the completion (quyết toán) record."""
    if target not in STATUSES:
        raise DomainError.one("invalid_status", f"Trạng thái phải là một trong: {', '.join(STATUSES)}.", "status")
    if target == "settled":
        raise DomainError.one(
            "settlement_required",
            "Chuyển sang 'đã quyết toán' bằng cách ghi quyết toán dự án hoàn thành (giá trị quyết toán).",
            "status",
        )
    if STATUSES.index(target) != STATUSES.index(current) + 1:
        raise DomainError.one(
            "invalid_transition",
            f"Không thể chuyển dự án từ '{STATUS_LABELS[current]}' sang '{STATUS_LABELS[target]}' "
            f"(thứ tự: {' → '.join(STATUSES)}).",
            "status",
        )


def completion_steps(current: str) -> list[str]:
    """The status changes a completion (quyết toán) record makes: … → completed → settled."""
    if current == "completed":
        return ["settled"]
    if current == "under_construction":
        return ["completed", "settled"]
    if current == "settled":
        raise DomainError.one("already_settled", "Dự án đã được quyết toán.", "project_id")
    raise DomainError.one(
        "invalid_transition",
        f"Dự án đang ở trạng thái '{STATUS_LABELS.get(current, current)}': chỉ quyết toán dự án đang thi công "
        "hoặc đã hoàn thành.",
        "status",
    )


# --------------------------------------------------------------------------- money guards


@dataclass(frozen=True)
class SourceFigures:
    """Capital assigned and disbursed from one source, over all fiscal years."""

    capital: int = 0
    disbursed: int = 0


@dataclass(frozen=True)
class ProjectFigures:
    """What the guards need to know about a project, read under its row lock."""

    estimate: int  # the latest estimate (tổng mức đầu tư / dự toán được duyệt)
    settled_cost: int | None  # the final settled cost once quyết toán is recorded
    by_source: Mapping[str, SourceFigures] = field(default_factory=dict)
    # The project's capital funded by each finance allocation (allocation id -> Σ its rows, reductions netted).
    linked: Mapping[int, int] = field(default_factory=dict)

    @property
    def cap(self) -> int:
        """What the capital may not pass: the settled cost once settled, else the latest estimate."""
        return self.settled_cost if self.settled_cost is not None else self.estimate

    @property
    def capital(self) -> int:
        return sum(f.capital for f in self.by_source.values())

    @property
    def disbursed(self) -> int:
        return sum(f.disbursed for f in self.by_source.values())

    def source(self, source: str) -> SourceFigures:
        return self.by_source.get(source, SourceFigures())

    @property
    def remaining_to_finance(self) -> int:
        return max(self.cap - self.capital, 0)

    def plus(self, source: str, capital: int = 0, disbursed: int = 0) -> ProjectFigures:
        """The figures after a new capital or disbursement row (what the command answers with)."""
        now = self.source(source)
        by_source = {**self.by_source, source: SourceFigures(now.capital + capital, now.disbursed + disbursed)}
        return ProjectFigures(self.estimate, self.settled_cost, by_source, self.linked)


def check_capital(project: ProjectFigures, source: str, amount: int) -> None:
    """Giao vốn: the sum of all sources never passes the cap; a reduction never goes below what that
    source has already paid out."""
    if amount == 0:
        raise DomainError.one("invalid_amount", "Số vốn giao phải khác 0 đồng.", "amount")
    if amount > 0 and project.capital + amount > project.cap:
        what = "giá trị quyết toán" if project.settled_cost is not None else "tổng mức đầu tư được duyệt"
        raise DomainError(
            [
                error(
                    "exceeds_estimated_cost",
                    f"Tổng vốn giao {format_vnd(project.capital + amount)} vượt {what} {format_vnd(project.cap)}; "
                    f"còn có thể giao tối đa {format_vnd(max(project.cap - project.capital, 0))}. "
                    "Nếu dự án được duyệt điều chỉnh tổng mức đầu tư, hãy ghi dự toán điều chỉnh trước.",
                    "amount",
                )
            ]
        )
    figures = project.source(source)
    if amount < 0 and figures.capital + amount < figures.disbursed:
        raise DomainError.one(
            "capital_below_disbursed",
            f"Không thể giảm vốn nguồn {sources.name(source)} xuống {format_vnd(figures.capital + amount)}: "
            f"đã giải ngân {format_vnd(figures.disbursed)} từ nguồn này.",
            "amount",
        )


def check_link(project: ProjectFigures, allocation_id: int | None, amount: int) -> None:
    """Capital naming the finance allocation that funds it: a reduction takes back only what that allocation
    funded in this project, so the linked money the gateway subtracts is never more than was linked. Whether
    the allocation exists, matches and has room is finance's knowledge: the gateway checks it before sending."""
    if allocation_id is None or amount > 0:
        return
    linked = project.linked.get(allocation_id, 0)
    if linked + amount < 0:
        raise DomainError.one(
            "link_below_zero",
            f"Không thể giảm {format_vnd(-amount)} vốn từ phân bổ số {allocation_id}: dự án mới được giao "
            f"{format_vnd(linked)} từ phân bổ này.",
            "funded_by_allocation",
        )


def check_link_room(allocation_id: int | None, room: int | None, linked: int, amount: int) -> None:
    """Capital taking more from a finance allocation: never beyond its room, what finance says it holds for
    projects (`room`: allocated less what it passed down) less the capital of every project already linked to it
    (`linked`, read under the allocation's lock). A reduction only gives money back (`check_link`)."""
    if allocation_id is None or amount <= 0:
        return
    name = f"phân bổ số {allocation_id}"
    if room is None:  # only the gateway, which asks finance, can send the capital of a link
        raise DomainError.one(
            "allocation_unchecked",
            f"Vốn giao từ {name} cần số còn lại của phân bổ do tài chính xác nhận (gửi qua cổng API).",
            "funded_by_allocation",
        )
    if linked + amount > room:
        raise DomainError.one(
            "exceeds_allocation",
            f"Vốn giao {format_vnd(amount)} vượt phần còn lại của {name}: {format_vnd(max(room - linked, 0))} "
            f"(đã giao cho dự án {format_vnd(linked)}).",
            "funded_by_allocation",
        )


def check_disbursement(project: ProjectFigures, source: str, amount: int) -> None:
    """Giải ngân: never beyond that source's capital; a reversal never below zero; after quyết toán
    never beyond the settled cost."""
    if amount == 0:
        raise DomainError.one("invalid_amount", "Số tiền giải ngân phải khác 0 đồng.", "amount")
    figures = project.source(source)
    if amount > 0 and figures.disbursed + amount > figures.capital:
        raise DomainError.one(
            "exceeds_capital",
            f"Giải ngân {format_vnd(amount)} từ nguồn {sources.name(source)} vượt vốn đã giao: vốn giao "
            f"{format_vnd(figures.capital)}, đã giải ngân {format_vnd(figures.disbursed)}, còn "
            f"{format_vnd(max(figures.capital - figures.disbursed, 0))}.",
            "amount",
        )
    if amount < 0 and figures.disbursed + amount < 0:
        raise DomainError.one(
            "reversal_exceeds_disbursed",
            f"Không thể thu hồi {format_vnd(-amount)}: nguồn {sources.name(source)} mới giải ngân "
            f"{format_vnd(figures.disbursed)}.",
            "amount",
        )
    if amount > 0 and project.settled_cost is not None and project.disbursed + amount > project.settled_cost:
        raise DomainError.one(
            "exceeds_settled_cost",
            f"Tổng giải ngân {format_vnd(project.disbursed + amount)} vượt giá trị quyết toán "
            f"{format_vnd(project.settled_cost)}.",
            "amount",
        )


def check_revised_estimate(project: ProjectFigures, amount: int) -> None:
    check_estimate(amount, "amount")
    if project.settled_cost is not None:
        raise DomainError.one("already_settled", "Dự án đã quyết toán: không điều chỉnh tổng mức đầu tư nữa.", "amount")
    if amount < project.capital:
        raise DomainError.one(
            "estimate_below_capital",
            f"Tổng mức đầu tư điều chỉnh {format_vnd(amount)} thấp hơn vốn đã giao {format_vnd(project.capital)}: "
            "giảm vốn giao trước (bản ghi vốn âm kèm quyết định).",
            "amount",
        )


def check_settlement(project: ProjectFigures, settled_cost: int) -> None:
    if settled_cost <= 0:
        raise DomainError.one("invalid_amount", "Giá trị quyết toán phải lớn hơn 0 đồng.", "settled_cost")
    if settled_cost > project.estimate:
        raise DomainError.one(
            "exceeds_estimated_cost",
            f"Giá trị quyết toán {format_vnd(settled_cost)} vượt tổng mức đầu tư được duyệt "
            f"{format_vnd(project.estimate)}.",
            "settled_cost",
        )
    if settled_cost < project.disbursed:
        raise DomainError.one(
            "settled_below_disbursed",
            f"Giá trị quyết toán {format_vnd(settled_cost)} thấp hơn số đã giải ngân {format_vnd(project.disbursed)}: "
            "thu hồi phần chênh lệch (giải ngân âm) trước khi quyết toán.",
            "settled_cost",
        )


def check_completion_dates(completed_on: date, decision_date: date) -> None:
    """The settlement (quyết toán) is approved after the works are finished, never before."""
    if decision_date < completed_on:
        raise DomainError.one(
            "invalid_date", "Ngày quyết định phê duyệt quyết toán trước ngày hoàn thành công trình.", "decision_date"
        )
