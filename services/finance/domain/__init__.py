"""Finance's business rules in plain Python: no nameko, SQLAlchemy, YAML or files.

The handlers read the facts a rule needs through the repository, pass them (and the reference data) here,
and write what the rule allows. Every refusal is a `DomainError` with a stable code and a Vietnamese message
(docs/finance.md lists them). By topic: `allocations` (the ledger of budget money), `capitation` (the fund
and its settlement), `imports` (when a row of an imported sheet is an allocation already recorded),
`settlement` (a quarter's report, result and payment), `checks` (shared refusals), `reference` (the shape of
the reference data), `year_end` (carry-over and close of a past year's money).
"""

from services.finance.domain.allocations import (
    AllocationFacts,
    PlanFacts,
    check_adjustment,
    check_disbursement,
    check_linked_capital,
    check_plan_year,
    check_recipient_in_plan,
    check_reversal,
    check_same_fund,
    check_source,
    check_source_in_plan,
    check_sub_allocation,
    most_local_plan,
)
from services.finance.domain.capitation import (
    CapitationFund,
    CardGroup,
    Settlement,
    capitation_fund,
    parse_fund_period,
    settle,
)
from services.finance.domain.checks import (
    check_decision,
    check_positive,
    check_unit,
    parse_decimal,
    parse_facility,
    raise_if,
)
from services.finance.domain.imports import (
    ImportKey,
    Recorded,
    import_key,
    recorded_twin,
)
from services.finance.domain.reference import (
    AllocationKind,
    CapitationSettings,
    CapitationYear,
    FinanceReference,
    Source,
)
from services.finance.domain.settlement import (
    PAYMENT_KINDS,
    QuarterFigures,
    ReportTerms,
    advance_of,
    check_payment,
    check_payment_date,
    check_result_date,
    payment_due,
    report_due,
    report_terms,
    result_days,
    step,
)
from services.finance.domain.year_end import (
    CARRY_OVER,
    CLOSE,
    check_year_end,
    check_year_end_reversal,
    year_end_limit,
)

__all__ = [
    "CARRY_OVER",
    "CLOSE",
    "PAYMENT_KINDS",
    "AllocationFacts",
    "AllocationKind",
    "CapitationFund",
    "CapitationSettings",
    "CapitationYear",
    "CardGroup",
    "FinanceReference",
    "ImportKey",
    "PlanFacts",
    "QuarterFigures",
    "Recorded",
    "ReportTerms",
    "Settlement",
    "Source",
    "advance_of",
    "capitation_fund",
    "check_adjustment",
    "check_decision",
    "check_disbursement",
    "check_linked_capital",
    "check_payment",
    "check_payment_date",
    "check_plan_year",
    "check_positive",
    "check_recipient_in_plan",
    "check_result_date",
    "check_reversal",
    "check_same_fund",
    "check_source",
    "check_source_in_plan",
    "check_sub_allocation",
    "check_unit",
    "check_year_end",
    "check_year_end_reversal",
    "import_key",
    "most_local_plan",
    "parse_decimal",
    "parse_facility",
    "parse_fund_period",
    "payment_due",
    "raise_if",
    "recorded_twin",
    "report_due",
    "report_terms",
    "result_days",
    "settle",
    "step",
    "year_end_limit",
]
