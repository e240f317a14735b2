"""Finance commands: one function per command, each given a `FinanceUnitOfWork` already entered.

A handler reads its command with the contract schema (a refused payload is a named 422), reads the facts the
rules need through `uow.repo` (under lock), asks `domain` for the decision, inserts what it allows and
announces it with `uow.publish`. It never commits: leaving the unit of work does, rows and events together.

By topic, as the domain's rules are: `allocations` (the ledger of budget money), `year_end` (carry-over and
close), `capitation` (the fund, the year's settlement, the spend claims announces), `settlement` (a quarter's
advance, report, result and payment).
"""

from services.finance.handlers.allocations import (
    adjust,
    create_allocation,
    disburse,
    import_allocations,
    import_disbursements,
    reverse_disbursement,
)
from services.finance.handlers.capitation import record_capitation_spend, set_capitation_fund, settle_capitation
from services.finance.handlers.settlement import (
    check_quarter,
    pay_advance,
    record_payment,
    record_report,
    record_result,
)
from services.finance.handlers.year_end import carry_over, close_allocation, reverse_year_end

__all__ = [
    "adjust",
    "carry_over",
    "check_quarter",
    "close_allocation",
    "create_allocation",
    "disburse",
    "import_allocations",
    "import_disbursements",
    "pay_advance",
    "record_capitation_spend",
    "record_payment",
    "record_report",
    "record_result",
    "reverse_disbursement",
    "reverse_year_end",
    "set_capitation_fund",
    "settle_capitation",
]
