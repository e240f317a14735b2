"""Who sends the claim: the facility must be the envelope's, and a visit is paid once."""

from __future__ import annotations

from services.claims.domain.records import Claim, Issue
from services.claims.validation.catalog import make_issue
from services.claims.validation.context import ValidationContext


def duplicate_issue(ma_lk: str) -> Issue:
    """duplicate_claim for a MA_LK already accepted for this facility. The service calls it for
    MA_LKs found in its database (earlier files); ``validate`` calls it for this file's."""
    return make_issue("duplicate_claim", table="XML1", field="MA_LK", ma_lk=ma_lk, value=ma_lk)


def check(claim: Claim, ctx: ValidationContext, out: list[Issue]) -> None:
    if claim.ma_cskcb is not None and claim.ma_cskcb != ctx.envelope_facility:
        out.append(make_issue(
            "facility_mismatch", table="XML1", field="MA_CSKCB", ma_lk=claim.ma_lk, value=claim.ma_cskcb,
            envelope=ctx.envelope_facility,
        ))
    if claim.ma_cskcb is not None and not claim.ma_cskcb.startswith(ctx.province):
        # A facility of another province may send here (a referral, a merger): BHXH looks, nothing is refused.
        out.append(make_issue(
            "facility_outside_province", table="XML1", field="MA_CSKCB", ma_lk=claim.ma_lk, value=claim.ma_cskcb,
            province=ctx.province,
        ))
    if claim.ma_lk is not None and claim.ma_lk in ctx.seen_in_file:
        out.append(duplicate_issue(claim.ma_lk))
