"""The periods claims are counted in: a settlement month (NAM_QT, THANG_QT) folds into its quarter."""

from __future__ import annotations

from services.common.errors import DomainError
from services.common.periods import PeriodError, Quarter


def month_of(text: str) -> tuple[int, int] | None:
    """`2024-07` -> (2024, 7); any other text -> None."""
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return int(text[:4]), int(text[5:])
    return None


def settlement_period(text: str) -> tuple[str, int | None]:
    """Finance's period of a fund or an advance as the reconciliation keys it: (`YYYY-Qn`, year).

    A month is folded into its quarter; any other text is kept (cut to 10 characters) so the event is not lost,
    it simply matches no quarter."""
    t = text.strip()
    try:
        return str(Quarter.parse(t)), int(t[:4])
    except PeriodError:
        pass
    month = month_of(t)
    if month is not None:
        return str(Quarter.of_month(*month)), month[0]
    return t[:10], int(t[:4]) if t[:4].isdigit() else None


def period_months(text: str) -> tuple[int, list[int]]:
    """A claims filter's period, `2024` / `2024-Q3` / `2024-07` -> (year, months)."""
    t = (text or "").strip()
    try:
        if len(t) == 4 and t.isdigit():
            return int(t), list(range(1, 13))
        if "-Q" in t:
            q = Quarter.parse(t)
            return q.year, list(q.months)
        month = month_of(t)
        if month is not None:
            return month[0], [month[1]]
    except PeriodError:
        pass
    raise DomainError.one("invalid_period", "Kỳ phải có dạng YYYY, YYYY-Qn hoặc YYYY-MM.", "period")
