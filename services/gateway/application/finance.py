"""The budget ledger's writes (finance service): allocations and sub-allocations, disbursements, adjustments
and reversals, each checked against the caller's unit scope before the service records it. The API's
endpoints and the allocation pages record through here, so both check the same things in the same order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import g

from services.common import catalog, units
from services.common.contracts.finance import (
    AdjustmentCommandIn,
    AllocationCommandIn,
    DisbursementCommandV1,
    ReversalCommandV1,
    YearEndCommandV1,
    YearEndReversalCommandV1,
)
from services.common.errors import DomainError, NotFound
from services.gateway.application.access import refusals_by_id, require_allocation_unit, require_unit
from services.gateway.application.remote import guarded, rpc


def create_allocation(cmd: dict[str, Any]) -> dict[str, Any]:
    """An allocation, or a sub-allocation passing part of a parent down a level (`cmd` loaded by
    AllocationCommandV1): the recipient must exist and lie within the caller's unit, and so must the parent's. A
    sub-allocation carries the capital linked to its parent, which finance keeps covered."""
    units.require_unit(cmd["recipient_unit"], None, "recipient_unit")
    require_unit(cmd["recipient_unit"], "recipient_unit")
    if cmd["parent_allocation_id"] is not None and g.principal.unit is not None:
        try:
            parent = rpc("finance", "get_allocation", cmd["parent_allocation_id"])
        except NotFound:
            parent = None  # the service answers unknown_allocation (422) for the body field
        if parent is not None:
            require_unit(parent["recipient_unit"], "parent_allocation_id")
    parent_id = cmd["parent_allocation_id"]
    with guarded([parent_id]):  # a link to the parent waits until this is recorded (guards.py)
        if parent_id is not None:  # passing money down: what the parent funds in projects stays
            cmd = {**cmd, "parent_linked_capital": linked_capital(parent_id)}
        return rpc("finance", "create_allocation", AllocationCommandIn().dump(cmd))


def disburse(allocation_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """A disbursement (giải ngân) against an allocation (`cmd` loaded by DisbursementCommandV1)."""
    require_allocation_unit(allocation_id, "id")
    return rpc("finance", "disburse", allocation_id, DisbursementCommandV1().dump(cmd))


def adjust(allocation_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """An adjustment (điều chỉnh) of an allocation, up or down (`cmd` loaded by AdjustmentCommandV1). Down, the
    allocation keeps less: finance is told the capital linked to it; up, a sub-allocation's parent passes more
    down: finance is told the capital linked to the parent."""
    allocation = require_allocation_unit(allocation_id, "id")
    # The allocation whose kept money goes down, and the field its linked capital travels in.
    at_stake, field = (allocation_id, "linked_capital") if cmd["amount"] < 0 else (None, "parent_linked_capital")
    if cmd["amount"] > 0:
        if allocation is None:
            try:
                allocation = rpc("finance", "get_allocation", allocation_id)
            except NotFound:
                allocation = {}  # the service answers not_found for the allocation itself
        at_stake = allocation.get("parent_allocation_id")  # None for a root: new money, nobody's capital at stake
    with guarded([at_stake]):  # a link to that allocation waits until this is recorded (guards.py)
        if at_stake is not None:
            cmd = {**cmd, field: linked_capital(at_stake)}
        return rpc("finance", "adjust", allocation_id, AdjustmentCommandIn().dump(cmd))


def linked_capital(allocation_id: int) -> int:
    """Σ project capital that investment records as funded by this allocation (`funded_by_allocation`): finance
    keeps it covered when the allocation is reduced or passes money down (domain.check_linked_capital). Only the
    gateway talks to both services, as for the room it sends investment when a link is made (funding.py)."""
    return int(rpc("investment", "linked_capital", [allocation_id])[str(allocation_id)])


def reverse_disbursement(disbursement_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """A reversal of a disbursement in whole or part (`cmd` loaded by ReversalCommandV1)."""
    if g.principal.unit is not None:
        require_unit(rpc("finance", "get_disbursement", disbursement_id)["recipient_unit"], "id")
    return rpc("finance", "reverse_disbursement", disbursement_id, ReversalCommandV1().dump(cmd))


def carry_over(allocation_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """Chuyển nguồn: what a past year's allocation still holds, carried to the next fiscal year by a decision
    (`cmd` loaded by YearEndCommandV1); the service checks the year, dates and amount."""
    require_allocation_unit(allocation_id, "id")
    return rpc("finance", "carry_over", allocation_id, YearEndCommandV1().dump(cmd), g.principal.name)


def close_allocation(allocation_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """Quyết toán (đóng): what a past year's allocation still holds lapses, by a decision (YearEndCommandV1)."""
    require_allocation_unit(allocation_id, "id")
    return rpc("finance", "close_allocation", allocation_id, YearEndCommandV1().dump(cmd), g.principal.name)


def reverse_year_end(record_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """A reversal of (part of) a carry-over or close record by its own decision (YearEndReversalCommandV1)."""
    if g.principal.unit is not None:
        require_year_end_record_unit(record_id)
    return rpc("finance", "reverse_year_end", record_id, YearEndReversalCommandV1().dump(cmd), g.principal.name)


def require_year_end_record_unit(record_id: int) -> None:
    """A unit-scoped user reverses only records of allocations within the unit. Finance answers no record by
    id, so the record is looked for among the unit's allocations that hold year-end money (a record undone in
    whole cannot be undone again anyway: already_reversed)."""
    for answer in allocation_pages({"unit": g.principal.unit}):
        for row in answer["items"]:
            if not (row.get("carried_over") or row.get("closed")):
                continue
            detail = rpc("finance", "get_allocation", row["id"])
            if any(r["id"] == record_id for r in detail.get("year_end", [])):
                return
    raise DomainError.one(
        "unit_forbidden", f"Bản ghi cuối năm số {record_id} không thuộc phạm vi được giao ({g.principal.unit}).",
        "id", 403,
    )


def year_end_open(alloc: dict[str, Any], today: date) -> bool:
    """Whether an allocation's page offers the year-end forms: its fiscal year is over and it still holds
    money not disbursed and not yet carried over or closed (the service decides the exact amount)."""
    return int(alloc.get("fiscal_year") or today.year) < today.year and int(alloc.get("remaining") or 0) > 0


def year_end_allocations(plan_id: int, year: int | None, unit: str | None) -> list[dict[str, Any]]:
    """Finance's allocations of the plan and the plans applying it (as its roll-up counts them) that hold year-end
    money, of `year` and the year before (whose carry-overs come into it), within `unit`; for
    figures.year_end_by_source (finance answers the year end per item, not per source)."""
    plans = catalog.load_plans()
    ids, frontier = [plan_id], [plan_id]
    while frontier:  # the district plans applying a province plan, recursively
        numbers = {p.number for p in plans if p.id in frontier}
        frontier = [p.id for p in plans if p.parent_number in numbers]
        ids += frontier
    out: list[dict[str, Any]] = []
    for pid in ids:
        for fiscal_year in ([year - 1, year] if year is not None else [None]):
            filters: dict[str, Any] = {"plan_id": pid}
            if fiscal_year is not None:
                filters["year"] = fiscal_year
            if unit is not None:
                filters["unit"] = unit
            for answer in allocation_pages(filters):
                out += [a for a in answer["items"] if a.get("carried_over") or a.get("closed")]
    return out


def allocation_pages(filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Finance's `list_allocations` answers for `filters`, page after page (500 each) until all are read; the
    caller may stop early."""
    page = 1
    while True:
        answer = rpc("finance", "list_allocations", filters, page, 500)
        yield answer
        if page * 500 >= answer["total"]:
            return
        page += 1


def every_allocation(filters: dict[str, Any], limit: int, refusal: str, field: str | None) -> list[dict[str, Any]]:
    """Every allocation `list_allocations` answers for `filters`, all pages; past `limit`, 422 `too_many_rows`
    (asked at the first page) with `refusal` formatted with the count (`total`) and the limit (`limit`)."""
    out: list[dict[str, Any]] = []
    for answer in allocation_pages(filters):
        if answer["total"] > limit:
            raise DomainError.one("too_many_rows", refusal.format(total=answer["total"], limit=limit), field)
        out += answer["items"]
    return out


def outside_scope(allocation_ids: set[int], field: str) -> dict[int, list[dict[str, Any]]]:
    """Each allocation's refusals for the caller's unit (`require_allocation_unit`, named as `field`), asked once
    per allocation for a whole sheet; an unknown allocation has none here, finance names it."""
    return refusals_by_id(allocation_ids, lambda allocation_id: require_allocation_unit(allocation_id, field))


def allocation(allocation_id: int) -> dict[str, Any]:
    """One allocation with its history, for a caller who sees its recipient."""
    alloc = rpc("finance", "get_allocation", allocation_id)
    require_unit(alloc["recipient_unit"], "id")
    return alloc
