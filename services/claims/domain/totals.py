"""Facility-quarter totals kept by the writes themselves (table `facility_quarter_totals`): the increments.

An intake batch adds its accepted claims and an assessment batch moves money between pending, approved and
rejected, each in its own transaction, so the reconciliation and the capitation summary read a few rows instead of
scanning claims. This module computes the increments (in whole cents); the repository applies them as upserts
of `x = x + delta` in key order (services/claims/repository.py), so concurrent transactions never lose each
other's increment and never wait on each other in a cycle.

Capitation spend counts against the fund of the facility where the card is registered (MA_DKBD), wherever the
card was treated (NĐ 146/2018 Điều 25 k2 as amended by NĐ 75/2023): a claim adds its capitation lines to its
treating facility's row (`capitation`, what was treated there) and to its registered facility's row
(`capitation_registered`, what its fund bears; `capitation_own` when the two are the same facility).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from services.common import facility_code

Key = tuple[str, int, int]  # (facility_code, period_year or 0, period_quarter or 0)
Deltas = dict[Key, dict[str, int]]
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
    # By the card's registered facility (MA_DKBD), wherever the claim was treated:
    "registered_claims",  # accepted claims of cards registered at this facility
    "capitation_registered",  # their Σ line T_BHTT with MA_PTTT = 2: the spend against this facility's fund
    "capitation_own",  # the part of it treated at this facility itself
)
# Claim column of the Σ line T_BHTT of each payment method -> its total.
METHODS = (("bhtt_fee_for_service", "fee_for_service"), ("bhtt_capitation", "capitation"), ("bhtt_drg", "drg"))


def to_cents(value: Decimal | None) -> int:
    """A 2-place amount in whole cents (None: 0, as the sums over claims count it)."""
    return 0 if value is None else int((value * 100).to_integral_value())


def key_of(facility: str, year: int | None, quarter: int | None) -> Key:
    return (facility, int(year or 0), int(quarter or 0))


def registered_facility(ma_dkbd: str | None, treating: str) -> str:
    """The facility whose capitation fund a claim's capitation lines count against: the MA_DKBD of its first card.

    Several cards (';'-joined, one MA_DKBD each, in the order they were used) name the card the visit began
    under first. A claim without a readable MA_DKBD is counted at its treating facility: the only facility the
    claim names, so the spend is neither lost from every fund nor guessed elsewhere (an unreadable MA_DKBD is
    `value_invalid` and rejects the claim, so only an absent one reaches the totals)."""
    for part in (ma_dkbd or "").split(";"):
        if part.strip():
            return facility_code.normalise(part) or treating
    return treating


def _add(deltas: Deltas, key: Key, **values: int) -> None:
    row = deltas.setdefault(key, dict.fromkeys(FIELDS, 0))
    for name, value in values.items():
        row[name] += value


class Counted(NamedTuple):
    """What an accepted claim adds to the totals, as its row stores it (the intake builds these beside the rows)."""

    facility_code: str
    period_year: int | None
    period_quarter: int | None
    ma_dkbd: str | None
    t_bhtt: Decimal | None
    fee_for_service: Decimal | None  # the claim's Σ line T_BHTT of each payment method (METHODS)
    capitation: Decimal | None
    drg: Decimal | None


def for_claims(rows: Iterable[Mapping[str, Any]]) -> Deltas:
    """Increments for claim rows as the intake inserts them: only accepted claims count, all pending."""
    return for_accepted(
        Counted(
            r["facility_code"],
            r.get("period_year"),
            r.get("period_quarter"),
            r.get("ma_dkbd"),
            r.get("t_bhtt"),
            *(r.get(column) for column, _ in METHODS),
        )
        for r in rows
        if r["status"] == "accepted"
    )


def for_accepted(claims: Iterable[Counted]) -> Deltas:
    """Increments for accepted claims (`for_claims` without the rows): all pending."""
    deltas: Deltas = {}
    for c in claims:
        requested = to_cents(c.t_bhtt)
        capitation = to_cents(c.capitation)
        key = key_of(c.facility_code, c.period_year, c.period_quarter)
        _add(
            deltas,
            key,
            claims=1,
            requested=requested,
            pending=requested,
            fee_for_service=to_cents(c.fee_for_service),
            capitation=capitation,
            drg=to_cents(c.drg),
        )
        registered = registered_facility(c.ma_dkbd, c.facility_code)
        own = capitation if registered == c.facility_code else 0
        reg_key = key_of(registered, c.period_year, c.period_quarter)
        _add(deltas, reg_key, registered_claims=1, capitation_registered=capitation, capitation_own=own)
    return deltas


def for_assessments(
    facility: str,
    items: Iterable[tuple[int, Decimal, int | None, int | None, Decimal]],
    previous: Mapping[int, Decimal],
) -> Deltas:
    """Increments for a batch of new assessments: (claim id, requested, year, quarter, approved) each.

    `previous` maps a claim already assessed to the approved amount of its newest assessment, which the new one
    supersedes: its approved/rejected split is taken back. The caller reads it under the totals rows' lock, so
    it is the assessment the totals hold."""
    deltas: Deltas = {}
    for claim_id, requested, year, quarter, approved in items:
        req, new = to_cents(requested), to_cents(approved)
        key = key_of(facility, year, quarter)
        if claim_id in previous:
            old = to_cents(previous[claim_id])
            _add(deltas, key, approved=new - old, rejected=old - new)
        else:
            _add(deltas, key, assessed=1, pending=-req, approved=new, rejected=req - new)
    return deltas
