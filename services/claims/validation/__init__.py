"""Checks of a decoded claim: one module per rule family, codes and messages in ``catalog``.

    ctx = ValidationContext(envelope_facility=reader.header.facility)
    issues = validate(claim, ctx)                         # every content check of one decoded claim

(services/claims/reading.py's `check_record` decodes and validates a raw record in one call.)

A record is rejected when any of its issues is critical; warnings keep it.

Part of the claims service's pure reading core (with parsing/): a decoded claim in, issues out; no database,
broker or framework.
"""

from __future__ import annotations

from services.claims.domain.records import Claim, Issue
from services.claims.validation import card, dates, diagnosis, facility, formats, money, required
from services.claims.validation.catalog import CATALOG, Rule, make_issue, severity_of
from services.claims.validation.context import ValidationContext
from services.claims.validation.facility import duplicate_issue
from services.claims.validation.rulebook import rules

_RULES = (required.check, facility.check, card.check, dates.check, formats.check, diagnosis.check, money.check)


def validate(claim: Claim, ctx: ValidationContext) -> list[Issue]:
    """All content checks of one claim. Does not change ``ctx``."""
    out: list[Issue] = []
    for rule in _RULES:
        rule(claim, ctx, out)
    return out


def is_rejected(issues: list[Issue]) -> bool:
    return any(issue.severity == "critical" for issue in issues)


__all__ = [
    "CATALOG",
    "Rule",
    "ValidationContext",
    "duplicate_issue",
    "is_rejected",
    "make_issue",
    "rules",
    "severity_of",
    "validate",
]
