"""Whether a measured figure reaches a plan's target: one rule for the investment service's measures, the gateway's
answers and the reports."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def target_met(actual: object, comparison: str, target: float | None) -> bool | None:
    """Does an actual figure (a decimal string, as measured) reach a target? Compared as Decimal, never float, so a
    figure written equal to the target is equal. A completion target (no figure in the document) means 100; an
    unknown or non-numeric actual answers None."""
    if actual is None:
        return None
    try:
        a = Decimal(str(actual))
    except InvalidOperation:
        return None
    if not a.is_finite():
        return None
    t = Decimal(100) if target is None else Decimal(str(target))
    return {"=": a == t, ">=": a >= t, ">": a > t, "<=": a <= t, "<": a < t}[comparison]
