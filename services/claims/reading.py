"""The pure reading core in one call: decode one record of a claim file (parsing/) and validate it (validation/).

    reader = open_claim_file(fp)
    ctx = ValidationContext(envelope_facility=reader.header.facility)
    for raw in reader:
        result = check_record(raw, reader.header, ctx)   # never raises on content

A record is rejected when any of its issues is critical; an accepted MA_LK joins `ctx.seen_in_file`, so a
second record with it in the same file is a duplicate. The intake pipeline judges duplicates against the database
instead (services/claims/intake.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.claims.domain.records import Claim, Issue
from services.claims.parsing import EnvelopeHeader, RawRecord, decode_record
from services.claims.validation import ValidationContext, is_rejected, validate


@dataclass(slots=True)
class RecordResult:
    claim: Claim | None
    issues: list[Issue]
    accepted: bool


def check_record(raw: RawRecord, header: EnvelopeHeader, ctx: ValidationContext) -> RecordResult:
    """Decode and validate one record; an accepted MA_LK joins ``ctx.seen_in_file``."""
    claim, issues = decode_record(raw, header)
    if claim is not None:
        issues.extend(validate(claim, ctx))
    accepted = claim is not None and not is_rejected(issues)
    if accepted and claim is not None and claim.ma_lk is not None:
        ctx.seen_in_file.add(claim.ma_lk)
    return RecordResult(claim, issues, accepted)
