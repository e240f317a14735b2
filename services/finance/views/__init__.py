"""Read side of finance: functions (session, ...) -> the dicts the gateway answers with.

By topic: `plans` (the plans, their items, the funding sources), `funding` (the roll-ups, kept while the money is
unchanged), `allocations` (listings and one allocation's history), `capitation` (a facility-quarter's capitation
and its dated settlement steps), `surplus` (the 20% surplus by legal use). Nothing here writes, and nothing here
imports the write side (handlers, repository, unit of work): what both sides read is in records.py; the rules
these answers apply are the domain's.
"""

from services.finance.views.allocations import allocation_detail, disbursement_detail, list_allocations
from services.finance.views.capitation import (
    advance_suggestion,
    capitation_status,
    capitation_year,
    overdue_steps,
    quarter_schedule,
    reported_facilities,
    settlement_facilities,
    steps_version,
)
from services.finance.views.funding import (
    data_version,
    funding_by_unit,
    funding_status,
    funding_status_kept,
    funding_tree,
    funding_tree_kept,
)
from services.finance.views.plans import get_plan, list_plans, list_sources, plan_dict, plan_items
from services.finance.views.surplus import surplus_uses

__all__ = [
    "advance_suggestion",
    "allocation_detail",
    "capitation_status",
    "capitation_year",
    "data_version",
    "disbursement_detail",
    "funding_by_unit",
    "funding_status",
    "funding_status_kept",
    "funding_tree",
    "funding_tree_kept",
    "get_plan",
    "list_allocations",
    "list_plans",
    "list_sources",
    "overdue_steps",
    "plan_dict",
    "plan_items",
    "quarter_schedule",
    "reported_facilities",
    "settlement_facilities",
    "steps_version",
    "surplus_uses",
]
