"""The 20% BHYT surplus (kết dư 20% quỹ KCB BHYT): one rule for finance and investment alike.

Luật BHYT Điều 35 khoản 3 (amended 2014) and NĐ 105/2014/NĐ-CP Điều 6: when a province's BHYT care revenue
exceeded its care spending, 20% of the surplus came back to the province for fund years 2015–2020 only (from
01/01/2021 all of it goes to the reserve fund). The rule follows the *fund year* of the surplus, not the
fiscal year it is spent in: a fund year's surplus is known only after BHXH's review the following year, so it
is spent in a later fiscal year, never in the fund year itself. Each use is one of the four legal uses, in
their legal (priority) order. docs/domain.md §5.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.common.errors import error

SOURCE = "bhyt_surplus_20"
FIRST_FUND_YEAR = 2015  # the 2014 amendment took effect on 01/01/2015
LAST_FUND_YEAR = 2020  # from 01/01/2021 the whole surplus goes to the reserve
LEGAL_BASIS = "Luật BHYT Điều 35 khoản 3 (sửa đổi năm 2014); Nghị định 105/2014/NĐ-CP Điều 6"

# The legal uses in their legal order (NĐ 105/2014 Điều 6 khoản 2).
USES: tuple[tuple[str, str], ...] = (
    ("kcb_poor_fund", "Bổ sung quỹ khám bệnh, chữa bệnh cho người nghèo"),
    ("premium_support", "Hỗ trợ mức đóng BHYT cho một số nhóm đối tượng"),
    ("equipment", "Mua sắm, nâng cấp trang thiết bị y tế phù hợp với trình độ cán bộ"),
    ("patient_transport", "Mua phương tiện vận chuyển người bệnh ở tuyến huyện"),
)
USE_CODES = tuple(code for code, _ in USES)
USE_LABELS = dict(USES)


def use_order(use: str | None) -> int:
    """Position of a use in the legal order (unknown or none last)."""
    return USE_CODES.index(use) if use in USE_CODES else len(USE_CODES)


def check(
    source: str,
    fiscal_year: int | None,
    fund_year: int | None,
    use: str | None,
    *,
    fund_year_field: str = "fund_year",
    fiscal_year_field: str = "fiscal_year",
    use_field: str = "use",
) -> list[dict[str, Any]]:
    """The errors of money of `source` spent in `fiscal_year` from the surplus of `fund_year` for `use`.

    Other sources take neither a fund year nor a use. `fiscal_year` None: a record that names no fiscal year
    (a disbursement of capital already checked) — only the fund year and use are checked then."""
    if source != SOURCE:
        out = []
        if fund_year is not None:
            out.append(
                error("fund_year_not_applicable", "Chỉ nguồn 20% kết dư quỹ BHYT có năm quỹ riêng.", fund_year_field)
            )
        if use is not None:
            out.append(
                error("surplus_use_not_applicable", "Chỉ nguồn 20% kết dư quỹ BHYT ghi nội dung sử dụng.", use_field)
            )
        return out
    out = []
    if fund_year is None:
        out.append(
            error(
                "fund_year_required",
                f"Nguồn 20% kết dư quỹ BHYT phải ghi năm quỹ có kết dư ({FIRST_FUND_YEAR}–{LAST_FUND_YEAR}).",
                fund_year_field,
            )
        )
    elif fund_year > LAST_FUND_YEAR:
        out.append(
            error(
                "surplus_source_closed",
                f"Nguồn 20% kết dư quỹ KCB BHYT chỉ áp dụng cho quỹ các năm {FIRST_FUND_YEAR}–{LAST_FUND_YEAR}; "
                f"từ năm {LAST_FUND_YEAR + 1} toàn bộ kết dư được chuyển vào quỹ dự phòng ({LEGAL_BASIS}). "
                f"Năm quỹ {fund_year} không được dùng nguồn này.",
                fund_year_field,
            )
        )
    elif fund_year < FIRST_FUND_YEAR:
        out.append(
            error(
                "surplus_source_not_open",
                f"Nguồn 20% kết dư quỹ KCB BHYT áp dụng từ quỹ năm {FIRST_FUND_YEAR} ({LEGAL_BASIS}); "
                f"năm quỹ {fund_year} không có nguồn này.",
                fund_year_field,
            )
        )
    elif fiscal_year is not None and fiscal_year <= fund_year:
        out.append(
            error(
                "fund_year_not_before_fiscal_year",
                f"Kết dư quỹ năm {fund_year} chỉ biết sau khi BHXH thẩm định quyết toán năm sau, nên chỉ được "
                f"sử dụng từ năm ngân sách {fund_year + 1}; không dùng trong năm {fiscal_year}.",
                fiscal_year_field,
            )
        )
    if use is None:
        out.append(
            error(
                "surplus_use_required",
                "Nguồn 20% kết dư quỹ BHYT phải ghi nội dung sử dụng: " + ", ".join(USE_CODES) + ".",
                use_field,
            )
        )
    elif use not in USE_LABELS:
        out.append(
            error(
                "unknown_surplus_use",
                f"Nội dung sử dụng '{use}' không thuộc bốn nội dung luật cho phép: " + ", ".join(USE_CODES) + ".",
                use_field,
            )
        )
    return out


def review_deadline(fund_year: int) -> date:
    """BHXH's review of a fund year's accounts is due by 01/10 of the next year (NĐ 105/2014 Điều 6)."""
    return date(fund_year + 1, 10, 1)


def expires_on(fund_year: int) -> date:
    """Money unused 12 months after the review reverts."""
    return date(fund_year + 2, 10, 1)


def report(finance_rows: list[dict[str, Any]], investment_rows: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """The surplus by legal use in legal order, each with its fund years: finance's allocations (allocated,
    disbursed) and investment's project capital; a fund year's money not disbursed by its expiry is flagged.
    Rows recorded before uses were kept (no use) come last, as `unclassified`."""
    uses: dict[str | None, dict[str, Any]] = {}
    for row in finance_rows:
        u = uses.setdefault(row["use"], {})
        fy = u.setdefault(row["fund_year"], {"allocated": 0, "disbursed": 0, "project_capital": 0})
        fy["allocated"] += row["allocated"]
        fy["disbursed"] += row["disbursed"]
    for row in investment_rows:
        u = uses.setdefault(row["use"], {})
        fy = u.setdefault(row["fund_year"], {"allocated": 0, "disbursed": 0, "project_capital": 0})
        fy["project_capital"] += row["capital"]
    out = []
    for use in sorted(uses, key=use_order):
        years = []
        for fund_year in sorted(uses[use], key=lambda y: (y is None, y or 0)):
            f = uses[use][fund_year]
            expiry = expires_on(fund_year) if fund_year is not None else None
            years.append(
                {
                    "fund_year": fund_year,
                    **f,
                    "unused": f["allocated"] - f["disbursed"],
                    "expires_on": expiry.isoformat() if expiry else None,
                    "expired_unused": bool(expiry and today >= expiry and f["allocated"] > f["disbursed"]),
                }
            )
        out.append(
            {
                "use": use,
                "order": USE_CODES.index(use) + 1 if use in USE_CODES else None,
                "name": USE_LABELS.get(use or "", "Chưa ghi nội dung sử dụng (ghi nhận trước khi bắt buộc)"),
                "fund_years": years,
                "allocated": sum(y["allocated"] for y in years),
                "disbursed": sum(y["disbursed"] for y in years),
                "project_capital": sum(y["project_capital"] for y in years),
            }
        )
    return {
        "source": SOURCE,
        "legal_basis": LEGAL_BASIS,
        "fund_years": [FIRST_FUND_YEAR, LAST_FUND_YEAR],
        "uses": out,
    }
