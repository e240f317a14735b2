"""What a claim record becomes in the claims database: its rows, built once per batch in the driver's form.

The intake (intake.py) decodes and validates each record into a `Prepared`; a batch of them is written here as
tuples in the INSERT's column order (`CLAIM_COLUMNS`, `LINE_COLUMNS`, `TABLE_COLUMNS`, `ISSUE_COLUMNS`), with
money, dates and quantities in the form the database's driver takes (`repository.DriverForm`), texts clipped to
their columns, and what each claim adds to the facility-quarter totals beside its row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.claims.domain import chunks as chunking
from services.claims.domain import totals
from services.claims.domain.records import Claim as ClaimRecord
from services.claims.domain.records import Issue
from services.claims.models import ClaimIssue, ClaimLine, ClaimTable
from services.claims.parsing.notes import Note
from services.claims.repository import DriverForm
from services.common.periods import Quarter

INT_MAX = 2**31 - 1
_ZERO = Decimal("0.00")


@dataclass(slots=True)
class Prepared:
    """One decoded and validated record waiting for its batch to commit."""

    index: int
    claim: ClaimRecord | None
    issues: list[Issue]
    ma_lk: str | None
    notes: frozenset[Note] = frozenset()  # format repairs made to read it, once each (parsing/notes.py)


def chunk_row(file_id: int, c: chunking.ChunkPlan, now: Any) -> dict[str, Any]:
    """A planned chunk's row: pending, nothing counted, no lease."""
    return {
        "file_id": file_id,
        "chunk_no": c.chunk_no,
        "first": c.first,
        "end": c.end,
        "next_index": c.first,
        "status": "pending",
        "accepted": 0,
        "rejected": 0,
        "warnings": 0,
        "byte_start": c.byte_start,
        "byte_end": c.byte_end,
        "head_end": c.head_end,
        "tail_start": c.tail_start,
        "attempts": 0,
        "lease_owner": None,
        "lease_until": None,
        "created_at": now,
        "finished_at": None,
    }


def clip(value: str | None, size: int) -> str | None:
    """A text as its column keeps it: cut to the column's size (the duplicate check reads MA_LK so too)."""
    return value[:size] if value is not None else None


def _int(value: int | None) -> int | None:
    return value if value is not None and -INT_MAX <= value <= INT_MAX else None


def detail_rows(
    file_id: int, claims: Iterable[tuple[int, Prepared, list[Issue]]], form: DriverForm
) -> tuple[tuple[Any, tuple[str, ...], list[tuple[Any, ...]]], ...]:
    """(table, columns, rows) of a batch's lines, other tables and issues, from (claim id, record, issues) each."""
    lines: list[tuple[Any, ...]] = []
    tables: list[tuple[Any, ...]] = []
    issue_rows: list[tuple[Any, ...]] = []
    for claim_id, p, issues in claims:
        if p.claim is not None:
            lines.extend([_line_row(claim_id, ln, form) for ln in p.claim.lines])
            if p.claim.other_tables:
                ma_lk = clip(p.ma_lk, 100)
                tables.extend(
                    (claim_id, ma_lk, name[:5], form.blob(data)) for name, data in sorted(p.claim.other_tables.items())
                )
        if issues:
            issue_rows.extend([_issue_values(file_id, p.index, i) for i in issues])
    return (
        (ClaimLine.__table__, LINE_COLUMNS, lines),
        (ClaimTable.__table__, TABLE_COLUMNS, tables),
        (ClaimIssue.__table__, ISSUE_COLUMNS, issue_rows),
    )


# The INSERT's columns of each table, in the order the row builders below put their values.
CLAIM_COLUMNS = (
    "file_id",
    "record_index",
    "status",
    "facility_code",
    "ma_lk",
    "critical_issues",
    "warning_issues",
    "created_at",
    "standard",
    "period_year",
    "period_month",
    "period_quarter",
    "ma_bn",
    "ho_ten",
    "so_cccd",
    "ngay_sinh",
    "ngay_sinh_raw",
    "gioi_tinh",
    "dia_chi",
    "dien_thoai",
    "ma_the_bhyt",
    "ma_dkbd",
    "gt_the_tu",
    "gt_the_den",
    "ma_benh_chinh",
    "ma_benh_kt",
    "ma_loai_kcb",
    "ngay_vao",
    "ngay_ra",
    "t_tongchi_bv",
    "t_tongchi_bh",
    "t_bntt",
    "t_bncct",
    "t_bhtt",
    "t_nguonkhac",
    "t_bhtt_gdv",
    "bhtt_fee_for_service",
    "bhtt_capitation",
    "bhtt_drg",
)
LINE_COLUMNS = (
    "claim_id",
    "table_name",
    "line_index",
    "stt",
    "item_code",
    "name",
    "ma_nhom",
    "quantity",
    "unit_price",
    "tyle_tt_bh",
    "thanh_tien_bv",
    "thanh_tien_bh",
    "muc_huong",
    "t_nguonkhac",
    "t_bntt",
    "t_bncct",
    "t_bhtt",
    "ma_pttt",
    "ngay_yl",
)
TABLE_COLUMNS = ("claim_id", "ma_lk", "table_name", "content")
ISSUE_COLUMNS = ("file_id", "record_index", "ma_lk", "table_name", "field", "code", "severity", "message")
# A record without a readable XML1 has no values past created_at.
_NO_VALUES = (None,) * (len(CLAIM_COLUMNS) - CLAIM_COLUMNS.index("standard"))


def claim_row(
    file_id: int, facility: str, p: Prepared, ok: bool, critical: int, warnings: int, now: Any, form: DriverForm
) -> tuple[tuple[Any, ...], totals.Counted | None]:
    """The claim's row (CLAIM_COLUMNS, in the driver's form) and, when it has values, what it adds to the totals
    (in Decimal: the driver's form may be a float)."""
    ma_lk = clip(p.ma_lk, 100)
    head = (file_id, p.index, "accepted" if ok else "rejected", facility, ma_lk, critical, warnings, now)
    c = p.claim
    if c is None:
        return head + _NO_VALUES, None
    year = c.nam_qt if c.nam_qt is not None and 1900 <= c.nam_qt <= 9999 else None
    month = c.thang_qt if c.thang_qt is not None and 1 <= c.thang_qt <= 12 else None
    quarter = Quarter.of_month(year, month).quarter if year and month else None
    ma_dkbd = clip(c.ma_dkbd, 255)
    fee, capitation, drg = _by_method(c.lines)
    money, moment = form.money, form.moment
    row = head + (
        c.standard,
        year,
        month if year else None,
        quarter,
        clip(c.ma_bn, 100),
        clip(c.ho_ten, 255),
        clip(c.so_cccd, 20),
        form.day(c.ngay_sinh),
        clip(c.ngay_sinh_raw, 12),
        _int(c.gioi_tinh),
        clip(c.dia_chi, 1024),
        clip(c.dien_thoai, 20),
        clip(c.ma_the_bhyt, 255),
        ma_dkbd,
        clip(c.gt_the_tu, 255),
        clip(c.gt_the_den, 255),
        clip(c.ma_benh_chinh, 10),
        clip(";".join(c.ma_benh_kt), 200) if c.ma_benh_kt else None,
        clip(c.ma_loai_kcb, 2),
        moment(c.ngay_vao),
        moment(c.ngay_ra),
        money(c.t_tongchi_bv),
        money(c.t_tongchi_bh),
        money(c.t_bntt),
        money(c.t_bncct),
        money(c.t_bhtt),
        money(c.t_nguonkhac),
        money(c.t_bhtt_gdv),
        money(fee),
        money(capitation),
        money(drg),
    )
    return row, totals.Counted(facility, year, quarter, ma_dkbd, c.t_bhtt, fee, capitation, drg)


# The Σ line T_BHTT of each payment method (MA_PTTT: fee for service, capitation, DRG), in that order:
# spend is read from these, never T_BHTT_GDV.
_METHODS = {"1": 0, "2": 1, "3": 2}


def _by_method(lines: list[Any]) -> tuple[Decimal, Decimal, Decimal]:
    out = [_ZERO, _ZERO, _ZERO]
    for ln in lines:
        at = _METHODS.get(ln.ma_pttt)
        if at is not None and ln.t_bhtt is not None:
            out[at] += ln.t_bhtt
    return out[0], out[1], out[2]


def _line_row(claim_id: int, ln: Any, form: DriverForm) -> tuple[Any, ...]:
    """A claim line's row (LINE_COLUMNS, in the driver's form)."""
    money, quantity = form.money, form.quantity
    return (
        claim_id,
        ln.table,
        ln.index,
        _int(ln.stt),
        clip(ln.item_code, 255),
        clip(ln.name, 1024),
        clip(ln.ma_nhom, 4),
        quantity(ln.quantity),
        quantity(ln.unit_price),
        money(ln.tyle_tt_bh),
        money(ln.thanh_tien_bv),
        money(ln.thanh_tien_bh),
        money(ln.muc_huong),
        money(ln.t_nguonkhac),
        money(ln.t_bntt),
        money(ln.t_bncct),
        money(ln.t_bhtt),
        clip(ln.ma_pttt, 2),
        form.moment(ln.ngay_yl),
    )


def _issue_values(file_id: int, record_index: int | None, i: Issue) -> tuple[Any, ...]:
    """An issue's row as the batch inserts it (ISSUE_COLUMNS): text and integers, alike in every driver's form."""
    return (
        file_id,
        record_index,
        clip(i.ma_lk, 100),
        clip(i.table, 20),
        clip(i.field, 40),
        i.code[:40],
        i.severity,
        i.message,
    )


def issue_row(file_id: int, record_index: int | None, i: Issue) -> dict[str, Any]:
    """`_issue_values` by column name, for Core's insert and the ORM."""
    return dict(zip(ISSUE_COLUMNS, _issue_values(file_id, record_index, i), strict=True))
