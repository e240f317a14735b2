"""Investment projects at commune health stations (mục II.5): the commands recorded against a project, each
checked against the caller's unit scope (the project's station must be visible) before the investment service
is asked. The API's project endpoints and the project pages both record through here."""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import Schema

from services.common.contracts import investment as contract
from services.gateway.application.access import require_project, require_station
from services.gateway.application.funding import LINK_FIELD, check_capital_link
from services.gateway.application.remote import guarded, rpc

STATUSES = ("proposed", "approved", "under_construction", "completed", "settled")
STATUS_NAMES = {
    "proposed": "Đề xuất",
    "approved": "Đã phê duyệt",
    "under_construction": "Đang thi công",
    "completed": "Hoàn thành",
    "settled": "Đã quyết toán",
}

# A command on a project: the investment service's method and the contract schema of its body.
PROJECT_COMMANDS: dict[str, type[Schema]] = {
    "assign_capital": contract.CapitalIn,
    "disburse": contract.DisbursementIn,
    "revise_estimate": contract.EstimateIn,
    "change_status": contract.StatusIn,
    "complete_project": contract.CompletionIn,
}


def register_project(body: dict[str, Any]) -> dict[str, Any]:
    """Register a project at a station the caller sees (`body` loaded by contract.ProjectIn)."""
    require_station(body["station_code"])
    return rpc("investment", "register_project", contract.ProjectIn().dump(body), g.principal.name)


def project_command(project_id: int, method: str, body: dict[str, Any]) -> dict[str, Any]:
    """Record one of PROJECT_COMMANDS on a project the caller sees (`body` loaded by its schema); capital naming
    the allocation that funds it is first checked against finance (funding.check_capital_link), and goes with the
    allocation's room as finance said it (contract.CapitalCommandIn), under the allocation's guard."""
    if method != "assign_capital":
        require_project(project_id)
        return rpc("investment", method, project_id, PROJECT_COMMANDS[method]().dump(body), g.principal.name)
    # Finance's room, then the link recorded, with no reduction of that allocation in between (guards.py).
    with guarded([body.get(LINK_FIELD)]):
        room = check_capital_link(project_id, body)
        payload = contract.CapitalCommandIn().dump({**body, "allocation_room": room})
        require_project(project_id)
        return rpc("investment", method, project_id, payload, g.principal.name)
