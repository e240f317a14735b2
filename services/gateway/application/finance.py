"""The budget ledger's writes (finance service): allocations and sub-allocations, disbursements, adjustments
and reversals, each checked against the caller's unit scope before the service records it. The API's
endpoints and the allocation pages record through here, so both check the same things in the same order."""

from __future__ import annotations

from typing import Any

from flask import g

from services.common import units
from services.common.contracts.finance import (
    AdjustmentCommandV1,
    AllocationCommandV1,
    DisbursementCommandV1,
    ReversalCommandV1,
)
from services.common.errors import NotFound
from services.gateway.application.access import require_allocation_unit, require_unit
from services.gateway.application.remote import rpc


def create_allocation(cmd: dict[str, Any]) -> dict[str, Any]:
    """An allocation, or a sub-allocation passing part of a parent down a level (`cmd` loaded by
    AllocationCommandV1): the recipient must exist and lie within the caller's unit, and so must the parent's."""
    units.require_unit(cmd["recipient_unit"], None, "recipient_unit")
    require_unit(cmd["recipient_unit"], "recipient_unit")
    if cmd["parent_allocation_id"] is not None and g.principal.unit is not None:
        try:
            parent = rpc("finance", "get_allocation", cmd["parent_allocation_id"])
        except NotFound:
            parent = None  # the service answers unknown_allocation (422) for the body field
        if parent is not None:
            require_unit(parent["recipient_unit"], "parent_allocation_id")
    return rpc("finance", "create_allocation", AllocationCommandV1().dump(cmd))


def disburse(allocation_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """A disbursement (giải ngân) against an allocation (`cmd` loaded by DisbursementCommandV1)."""
    require_allocation_unit(allocation_id, "id")
    return rpc("finance", "disburse", allocation_id, DisbursementCommandV1().dump(cmd))


def adjust(allocation_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """An adjustment (điều chỉnh) of an allocation, up or down (`cmd` loaded by AdjustmentCommandV1)."""
    require_allocation_unit(allocation_id, "id")
    return rpc("finance", "adjust", allocation_id, AdjustmentCommandV1().dump(cmd))


def reverse_disbursement(disbursement_id: int, cmd: dict[str, Any]) -> dict[str, Any]:
    """A reversal of a disbursement in whole or part (`cmd` loaded by ReversalCommandV1)."""
    if g.principal.unit is not None:
        require_unit(rpc("finance", "get_disbursement", disbursement_id)["recipient_unit"], "id")
    return rpc("finance", "reverse_disbursement", disbursement_id, ReversalCommandV1().dump(cmd))


def allocation(allocation_id: int) -> dict[str, Any]:
    """One allocation with its history, for a caller who sees its recipient."""
    alloc = rpc("finance", "get_allocation", allocation_id)
    require_unit(alloc["recipient_unit"], "id")
    return alloc
