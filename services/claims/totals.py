"""Facility-quarter totals kept by the writes themselves (table `facility_quarter_totals`).

An intake batch adds its accepted claims and an assessment batch moves money between pending, approved and
rejected, each in its own transaction, so the reconciliation and the capitation summary read a few rows instead of
scanning claims. Every change is an upsert of increments (`x = x + delta`): concurrent transactions on the same
row serialise on its row lock (PostgreSQL) or the write lock (SQLite) and none loses the other's increment; rows
are touched in key order so two transactions never wait on each other in a cycle. A transaction that rolls back
(e.g. an intake batch retried after a duplicate MA_LK raced in) takes its increments with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import false, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.claims.models import Assessment, FacilityQuarterTotal

Key = tuple[str, int, int]  # (facility_code, period_year or 0, period_quarter or 0)
FIELDS = (
    "claims",
    "assessed",
    "requested",
    "approved",
    "rejected",
    "pending",
    "fee_for_service",
    "capitation",
    "drg",
)
_METHODS = (("bhtt_fee_for_service", "fee_for_service"), ("bhtt_capitation", "capitation"), ("bhtt_drg", "drg"))


def to_cents(value: Decimal | None) -> int:
    """A 2-place amount in whole cents (None: 0, as the sums over claims count it)."""
    return 0 if value is None else int((value * 100).to_integral_value())


def key_of(facility: str, year: int | None, quarter: int | None) -> Key:
    return (facility, int(year or 0), int(quarter or 0))


def _add(deltas: dict[Key, dict[str, int]], key: Key, **values: int) -> None:
    row = deltas.setdefault(key, dict.fromkeys(FIELDS, 0))
    for name, value in values.items():
        row[name] += value


def for_claims(rows: Iterable[Mapping[str, Any]]) -> dict[Key, dict[str, int]]:
    """Increments for claim rows as the intake inserts them: only accepted claims count, all pending."""
    deltas: dict[Key, dict[str, int]] = {}
    for r in rows:
        if r["status"] != "accepted":
            continue
        requested = to_cents(r.get("t_bhtt"))
        methods = {name: to_cents(r.get(column)) for column, name in _METHODS}
        key = key_of(r["facility_code"], r.get("period_year"), r.get("period_quarter"))
        _add(deltas, key, claims=1, requested=requested, pending=requested, **methods)
    return deltas


def apply(session: Session, deltas: Mapping[Key, Mapping[str, int]]) -> None:
    """Add the increments to their rows (created at zero when new), in key order."""
    dialect = session.get_bind().dialect.name
    make = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if make is None:
        raise RuntimeError(f"facility_quarter_totals: no upsert for {dialect}")
    table = FacilityQuarterTotal.__table__
    for key in sorted(deltas):
        values = {name: int(deltas[key].get(name, 0)) for name in FIELDS}
        stmt = make(table).values(facility_code=key[0], period_year=key[1], period_quarter=key[2], **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["facility_code", "period_year", "period_quarter"],
            set_={name: table.c[name] + stmt.excluded[name] for name in FIELDS},
        )
        session.execute(stmt)


def for_assessments(
    session: Session, facility: str, items: Iterable[tuple[int, Decimal, int | None, int | None, Decimal]]
) -> dict[Key, dict[str, int]]:
    """Increments for a batch of new assessments: (claim id, requested, year, quarter, approved) each.

    The claim's newest earlier assessment, if any, is superseded: its approved/rejected split is taken back.
    Call after `lock` of the same keys, so a concurrent batch assessing the same claim has committed (or not
    started) and the earlier assessment read here is the one the totals hold."""
    items = list(items)
    previous = newest_approved(session, [i[0] for i in items])
    deltas: dict[Key, dict[str, int]] = {}
    for claim_id, requested, year, quarter, approved in items:
        req, new = to_cents(requested), to_cents(approved)
        key = key_of(facility, year, quarter)
        if claim_id in previous:
            old = to_cents(previous[claim_id])
            _add(deltas, key, approved=new - old, rejected=old - new)
        else:
            _add(deltas, key, assessed=1, pending=-req, approved=new, rejected=req - new)
    return deltas


def lock(session: Session, keys: Iterable[Key]) -> None:
    """Take the write lock of these rows (a zero upsert) before reading what an increment depends on."""
    apply(session, {k: {} for k in keys})


def newest_approved(session: Session, claim_ids: list[int]) -> dict[int, Decimal]:
    """claim id -> approved_amount of its newest assessment, for those assessed."""
    out: dict[int, Decimal] = {}
    for start in range(0, len(claim_ids), 500):
        chunk = claim_ids[start : start + 500]
        newest = select(func.max(Assessment.id)).where(Assessment.claim_id.in_(chunk)).group_by(Assessment.claim_id)
        rows = session.execute(
            select(Assessment.claim_id, Assessment.approved_amount).where(Assessment.id.in_(newest))
        )
        out.update({int(cid): Decimal(amount) for cid, amount in rows})
    return out


def read(
    session: Session, facilities: list[str] | None, year: int | None = None, quarter: int | None = None
) -> dict[str, int]:
    """Σ of the kept rows over facilities (None: all; [] none), a year (None: all, unknown years included)
    and a quarter (None: all)."""
    t = FacilityQuarterTotal
    where: list[Any] = []
    if facilities is not None:
        where.append(t.facility_code.in_(facilities) if facilities else false())
    if year is not None:
        where.append(t.period_year == year)
    if quarter is not None:
        where.append(t.period_quarter == quarter)
    row = session.execute(
        select(*(func.coalesce(func.sum(getattr(t, name)), 0) for name in FIELDS)).where(*where)
    ).one()
    return {name: int(v or 0) for name, v in zip(FIELDS, row, strict=True)}


def all_rows(session: Session) -> dict[Key, dict[str, int]]:
    """Every kept row (tests compare them with a recomputation from the claims)."""
    t = FacilityQuarterTotal
    out: dict[Key, dict[str, int]] = {}
    columns = (t.facility_code, t.period_year, t.period_quarter, *(getattr(t, n) for n in FIELDS))
    for row in session.execute(select(*columns)):
        out[(row[0], int(row[1]), int(row[2]))] = {n: int(v) for n, v in zip(FIELDS, row[3:], strict=True)}
    return out
