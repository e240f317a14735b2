"""Checks of a decoded claim: one module per rule family, codes and messages in ``catalog``.

    ctx = ValidationContext(envelope_facility=reader.header.facility)
    for raw in reader:
        result = check_record(raw, reader.header, ctx)   # decode + validate, never raises on content
        if result.accepted: ...                           # also remembered in ctx.seen_in_file

A record is rejected when any of its issues is critical; warnings keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.claims.records import Claim, Issue
from services.claims.validation import card, dates, diagnosis, facility, formats, money, required
from services.claims.validation.catalog import CATALOG, Rule, make_issue, rules, severity_of
from services.claims.validation.context import ValidationContext
from services.claims.validation.facility import duplicate_issue

if TYPE_CHECKING:
    from services.claims.parsing import EnvelopeHeader, RawRecord

_RULES = (required.check, facility.check, card.check, dates.check, formats.check, diagnosis.check, money.check)


def validate(claim: Claim, ctx: ValidationContext) -> list[Issue]:
    """All content checks of one claim. Does not change ``ctx``."""
    out: list[Issue] = []
    for rule in _RULES:
        rule(claim, ctx, out)
    return out


def is_rejected(issues: list[Issue]) -> bool:
    return any(issue.severity == "critical" for issue in issues)


@dataclass(slots=True)
class RecordResult:
    claim: Claim | None
    issues: list[Issue]
    accepted: bool


def check_record(raw: RawRecord, header: EnvelopeHeader, ctx: ValidationContext) -> RecordResult:
    """Decode and validate one record; an accepted MA_LK joins ``ctx.seen_in_file``."""
    from services.claims.parsing import decode_record  # parsing imports the catalog from here

    claim, issues = decode_record(raw, header)
    if claim is not None:
        issues.extend(validate(claim, ctx))
    accepted = claim is not None and not is_rejected(issues)
    if accepted and claim is not None and claim.ma_lk is not None:
        ctx.seen_in_file.add(claim.ma_lk)
    return RecordResult(claim, issues, accepted)


__all__ = [
    "CATALOG",
    "RecordResult",
    "Rule",
    "ValidationContext",
    "check_record",
    "duplicate_issue",
    "is_rejected",
    "make_issue",
    "rules",
    "severity_of",
    "validate",
]
