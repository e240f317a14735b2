"""Funding: one question fanned out to the services that own the money, and their answers joined.

Finance answers allocations and their disbursements, investment project capital and its disbursements, claims
BHYT capitation for II.4; `figures` adds them up. The fan-out has one short deadline (`YTCS_FUNDING_TIMEOUT`,
5 s): a slow or dead service makes the answer partial (`partial: true`, the missing part named in `parts` and
`missing`), never a hang or a 5xx. The API's funding endpoints, the plan pages, the Excel and Word reports all
read their figures here.
"""

from __future__ import annotations

import os
from typing import Any

from flask import g
from prometheus_client import Counter

from services.common import catalog, sources, units
from services.common.errors import DomainError, NotFound
from services.gateway import errors
from services.gateway.application import facilities as register
from services.gateway.application import figures
from services.gateway.application.access import require_station
from services.gateway.application.remote import Call, clients, rpc
from services.gateway.errors import Unavailable

FUNDING_TIMEOUT = float(os.environ.get("YTCS_FUNDING_TIMEOUT", "5"))
# The RPCs answering funding questions, per money stream (the same answer shape from both services).
ITEM_RPC = {"finance": "funding_status", "investment": "funding_status"}
TREE_RPC = {"finance": "funding_tree", "investment": "funding_tree"}
MONEY_PARTS = ("finance", "investment")
BHYT_KEYS = ("fund", "advanced", "spend", "fee_for_service", "drg", "requested", "approved")  # spend: MA_PTTT = 2

PARTIAL_ANSWERS = Counter(
    "ytcs_gateway_partial_answers_total",
    "Funding answers given without one of their parts (service slow, down or failing)",
    ["endpoint", "part"],
)

# Which task items spend toward an indicator stated in a target item (I.2.a / I.2.b state targets; the money
# is recorded against the tasks of section II). Data, not logic: adjust it when the plans are read otherwise.
INDICATOR_ITEMS: dict[str, tuple[str, ...]] = {
    "stations_bhyt_eligible": ("II.5",),
    "stations_technical_services": ("II.2.5", "II.5"),
    "communes_national_health_criteria": ("II.5",),
    "stations_difficult_communes_invested": ("II.5",),
    "population_health_managed": ("II.2.2",),
    "stations_with_doctor": ("II.3",),
    "doctors_family_medicine_trained": ("II.3",),
    "district_centres_technical_services": ("II.2.5", "II.5"),
    "district_centres_technical_services_share": ("II.2.5", "II.5"),
}


def get_plan(plan_id: int) -> catalog.Plan:
    try:
        return catalog.get_plan(plan_id)
    except KeyError:
        raise NotFound(
            [{"field": "plan_id", "code": "unknown_plan", "message": f"Không có kế hoạch số hiệu {plan_id}."}]
        ) from None


def get_item(plan: catalog.Plan, code: str) -> catalog.PlanItem:
    if not plan.has_item(code):
        raise NotFound(
            [{"field": "code", "code": "unknown_item", "message": f"Kế hoạch {plan.number} không có mục {code}."}]
        )
    return plan.item(code)


def gather(calls: dict[str, Call], endpoint: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results, state) where state is {parts, partial, missing}; a domain refusal is raised (4xx)."""
    results = clients().fan_out(calls, timeout=FUNDING_TIMEOUT)
    parts: dict[str, str] = {}
    missing: list[dict[str, str]] = []
    for part, value in results.items():  # a part is named by its call (two calls may go to one service)
        if isinstance(value, DomainError) and part in MONEY_PARTS:
            raise value  # the money itself refused (unknown unit...): the caller's mistake, a 4xx
        if isinstance(value, (Unavailable, DomainError)):
            kind, reason = (value.kind, value.reason) if isinstance(value, Unavailable) else ("refused", str(value))
            if parts.get(part) != "unavailable":
                missing.append({"part": part, "kind": kind, "reason": reason})
                PARTIAL_ANSWERS.labels(endpoint, part).inc()
            parts[part] = "unavailable"
        else:
            parts.setdefault(part, "ok")
    return results, {"parts": parts, "partial": bool(missing), "missing": missing}


def bhyt_figures(
    answer: Any, unit: str | None, year: int | None, facilities: list[str] | None
) -> dict[str, Any] | None:
    if not isinstance(answer, dict):
        return None
    money = {k: None if answer.get(k) is None else str(answer[k]) for k in BHYT_KEYS}
    return {"unit": unit, "year": year, "facilities": None if facilities is None else len(facilities), **money}


def bhyt_scope(plan: catalog.Plan, unit: str | None) -> tuple[str | None, list[str] | None]:
    """Capitation is asked for the unit asked about, else the plan's own unit: the facilities registered
    within it (the claims service knows facilities, the gateway's register maps them to units). None: all."""
    scope = unit if unit is not None else plan.unit
    if scope == units.PROVINCE_CODE:
        return None, None
    return scope, register.codes_within(scope)


def plan_tree(
    plan: catalog.Plan, results: dict[str, Any], state: dict[str, Any], year: int | None, unit: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every item of the plan with its figures (sum of the money streams, capital funded by an allocation finance
    counts taken off once), and the plan's total."""
    codes_parents = [(i.code, i.parent_code) for i in plan.items]
    per_part: dict[str, dict[str, dict[str, Any]]] = {}
    for part in MONEY_PARTS:
        if state["parts"].get(part) == "ok":
            mapped = figures.tree_map(results[part])
            figures.complete_tree(codes_parents, mapped)
            per_part[part] = mapped
    linked = figures.tree_links(results["investment"]) if set(MONEY_PARTS) <= set(per_part) else {}
    allocations = linked_allocations({k for by_id in linked.values() for k in by_id}, state)
    items = []
    for item in plan.items:
        streams = {p: m[item.code] for p, m in per_part.items() if item.code in m}
        summed = count_once(
            plan, item.code, year, unit, figures.add(streams.values()), linked.get(item.code, {}), allocations
        )
        items.append(
            {
                "code": item.code,
                "title": item.title,
                "parent_code": item.parent_code,
                "kind": item.kind,
                "depth": item.depth,
                **summed,
                "streams": {p: {"allocated": s["allocated"], "disbursed": s["disbursed"]} for p, s in streams.items()},
            }
        )
    top = [row for row in items if row["parent_code"] is None]
    total = figures.add(
        {k: row[k] for k in ("allocated", "disbursed", *figures.BREAKDOWNS, *figures.YEAR_END, "year_end_by_year")}
        for row in top
    )
    return items, {**total, "linked_capital": sum(row["linked_capital"] for row in top)}


def targets_answer(plan_id: int, year: int | None, unit: str | None, endpoint: str = "funding.plan_targets") -> dict:
    """The targets answer (PlanTargets) for a unit the caller may see: the API's, the plan page's and the
    yearly report's."""
    plan = get_plan(plan_id)
    calls: dict[str, Call] = {part: (part, TREE_RPC[part], (plan_id, year, unit), {}) for part in MONEY_PARTS}
    calls["targets"] = ("investment", "targets", (plan_id, year, unit), {})
    results, state = gather(calls, endpoint)
    items, _total = plan_tree(plan, results, state, year, unit)
    by_code = {row["code"]: row for row in items}
    actuals = _actuals(results.get("targets"))
    rows = []
    for item, target in plan.targets():
        codes = (item.code,) if item.kind == "task" else INDICATOR_ITEMS.get(target.key, (item.code,))
        money = figures.add(
            {k: by_code[c][k] for k in ("allocated", "disbursed", *figures.BREAKDOWNS)} for c in codes if c in by_code
        )
        known = actuals.get((item.code, target.key)) or actuals.get(("", target.key)) or {}
        actual = known.get("actual_value")
        rows.append(
            {
                "item_code": item.code,
                "key": target.key,
                "indicator": target.indicator,
                "target": target.value,
                "target_unit": target.unit,
                "comparison": target.comparison,
                "target_year": target.year,
                "quote": target.quote,
                "actual": None if actual is None else str(actual),
                "numerator": known.get("numerator"),
                "denominator": known.get("denominator"),
                "as_of": None if known.get("as_of") is None else str(known["as_of"]),
                "basis": known.get("basis"),
                "source": (known.get("source") or "register") if actual is not None else None,
                "met": known["met"] if isinstance(known.get("met"), bool) else target.met(actual),
                # Measured at the scope's level, one level down, and the stations (or centres) that miss it.
                "level": known.get("level"),
                "reported": known.get("reported"),
                "expected": known.get("expected"),
                "by_unit": known.get("by_unit") or [],
                "misses": known.get("misses") or [],
                "money": {
                    "items": list(codes),
                    "allocated": money["allocated"],
                    "disbursed": money["disbursed"],
                    "execution_rate": money["execution_rate"],
                    "by_source": money["by_source"],
                },
            }
        )
    return {"plan_id": plan.id, "year": year, "unit": unit, "items": rows, **state}


def _actuals(answer: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """The investment service's indicator values by (item code, key), and by ("", key) for any item."""
    rows = answer.get("items") if isinstance(answer, dict) else answer
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and "key" in row:
            out[(str(row.get("item_code", "")), str(row["key"]))] = row
            out.setdefault(("", str(row["key"])), row)
    return out


def item_funding(plan: catalog.Plan, item: catalog.PlanItem, year: int | None, unit: str | None) -> dict[str, Any]:
    """One item's funding (ItemFunding) for a unit the caller may see: every money stream added source by
    source, BHYT capitation beside it for II.4 and the items containing it."""
    plan_id, code = plan.id, item.code
    calls: dict[str, Call] = {part: (part, ITEM_RPC[part], (plan_id, code, year, unit), {}) for part in MONEY_PARTS}
    bhyt_unit, bhyt_facilities = bhyt_scope(plan, unit)
    if figures.carries_bhyt(code):
        calls["claims"] = ("claims", "capitation_summary", (bhyt_facilities, year), {})
    results, state = gather(calls, "funding.item_funding")
    streams = {p: figures.normalise(results[p]) for p in MONEY_PARTS if state["parts"][p] == "ok"}
    # Capital funded by an allocation finance counts here too is that allocation's money: taken off once.
    linked = figures.links(results["investment"]) if len(streams) == len(MONEY_PARTS) else {}
    allocations = linked_allocations(set(linked), state)
    total = count_once(plan, code, year, unit, figures.add(streams.values()), linked, allocations)
    if "claims" not in calls:
        state["parts"]["claims"] = "not_applicable"
    return {
        "plan_id": plan_id,
        "code": item.code,
        "title": item.title,
        "year": year,
        "unit": unit,
        **total,
        "streams": {p: {"allocated": s["allocated"], "disbursed": s["disbursed"]} for p, s in streams.items()},
        "bhyt": bhyt_figures(results.get("claims"), bhyt_unit, year, bhyt_facilities),
        **state,
    }


def plan_funding(plan: catalog.Plan, year: int | None, unit: str | None) -> dict[str, Any]:
    """The whole plan tree with its figures and the plan's total (PlanFunding), BHYT beside the items carrying it."""
    plan_id = plan.id
    bhyt_unit, bhyt_facilities = bhyt_scope(plan, unit)
    calls: dict[str, Call] = {part: (part, TREE_RPC[part], (plan_id, year, unit), {}) for part in MONEY_PARTS}
    calls["claims"] = ("claims", "capitation_summary", (bhyt_facilities, year), {})
    results, state = gather(calls, "funding.plan_funding")
    bhyt = bhyt_figures(results.get("claims"), bhyt_unit, year, bhyt_facilities)
    items, total = plan_tree(plan, results, state, year, unit)
    for row in items:
        row["bhyt"] = bhyt if figures.carries_bhyt(row["code"]) else None
    return {
        "plan_id": plan.id,
        "number": plan.number,
        "year": year,
        "unit": unit,
        "total": total,
        "items": items,
        "bhyt": bhyt,
        **state,
    }


def plan_figures(plan_id: int, year: int | None, unit: str | None, endpoint: str) -> dict[str, Any]:
    """The plan tree with its figures, as `GET /api/v1/plans/{id}/funding` answers it (same fan-out, same
    joining) without BHYT: {"plan", "items", "total", "parts", "partial", "missing"}. `unit` must already be
    scoped."""
    plan = get_plan(plan_id)
    calls: dict[str, Call] = {part: (part, TREE_RPC[part], (plan_id, year, unit), {}) for part in MONEY_PARTS}
    results, state = gather(calls, endpoint)
    items, total = plan_tree(plan, results, state, year, unit)
    return {"plan": plan, "items": items, "total": total, **state}


def refuse_partial(data: dict[str, Any]) -> None:
    """A report is never handed on with holes: 503 `report_incomplete` while a part is missing."""
    if data["partial"]:
        names = ", ".join(errors.service_name(m["part"]) for m in data["missing"])
        raise DomainError.one(
            "report_incomplete",
            f"Chưa lập được báo cáo: dịch vụ {names} tạm thời không trả lời, số liệu sẽ thiếu. Vui lòng thử lại sau.",
            None,
            503,
        )


def source_names() -> dict[str, str]:
    """Source code → its Vietnamese name (the register every service shares, services/common/sources.py)."""
    return {code: s.name for code, s in sources.SOURCES.items()}


def source_plans() -> dict[str, list[int]]:
    """Source code → the plans whose section III names it (a root allocation of a plan takes only those,
    `source_not_in_plan`); a source finance answers without `plans` is left out (no filter known)."""
    return {s["code"]: [int(p) for p in s["plans"]] for s in rpc("finance", "list_sources") if "plans" in s}


def plan_list() -> list[dict[str, Any]]:
    """The plans as finance lists them (number, unit, period), for the pages' pickers."""
    return rpc("finance", "list_plans")


def own_plan_id(plans: list[dict[str, Any]]) -> int:
    """The plan of the person's own unit or the nearest one above it: a district officer starts on the
    district plan, a commune officer on their district's, the province and unbound people on the first."""
    unit = g.principal.unit
    while unit is not None:
        for p in plans:
            if p["unit"] == unit:
                return int(p["id"])
        unit = units.parent_of(unit) if units.is_known_unit(unit) else None
    return int(plans[0]["id"])


# --------------------------------------------------------------------------- capital funded by an allocation

LINK_FIELD = "funded_by_allocation"


def counted_by_finance(plan: catalog.Plan, code: str, year: int | None, unit: str | None, allocation: dict) -> bool:
    """Does finance's figure of (plan, item `code`, year, unit) count this allocation's money? Finance's roll-up
    (finance/views/funding.py): the plan and the plans applying it, the item and its sub-items, the fiscal year, a
    recipient within the unit."""
    plans = {plan.id, *(p.id for p in catalog.district_plans_of(plan.id))}
    item = str(allocation.get("item_code") or "")
    return (
        allocation.get("plan_id") in plans
        and (item == code or item.startswith(code + "."))
        and (year is None or allocation.get("fiscal_year") == year)
        and units.within(unit, str(allocation.get("recipient_unit") or ""))
    )


def linked_allocations(ids: set[str], state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The finance allocations investment's linked capital names, asked in parallel within the funding deadline.
    One not answered leaves the answer partial (its capital then stays counted as investment's)."""
    wanted = sorted(ids, key=int)
    if not wanted:
        return {}
    results = clients().fan_out(
        {i: ("finance", "get_allocation", (int(i),), {}) for i in wanted}, timeout=FUNDING_TIMEOUT
    )
    found: dict[str, dict[str, Any]] = {}
    for i in wanted:
        value = results[i]
        if isinstance(value, dict):
            found[i] = value
        elif isinstance(value, Unavailable) and not state["partial"]:
            state["missing"].append({"part": "finance", "kind": value.kind, "reason": value.reason})
            state["partial"] = True
            PARTIAL_ANSWERS.labels("funding.linked_capital", "finance").inc()
    return found


def count_once(
    plan: catalog.Plan,
    code: str,
    year: int | None,
    unit: str | None,
    summed: dict[str, Any],
    linked: dict[str, dict[str, Any]],
    allocations: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """An item's added figures with the capital of the allocations finance already counts there taken off once."""
    counted = [k for k in linked if k in allocations and counted_by_finance(plan, code, year, unit, allocations[k])]
    return figures.count_once(summed, linked, counted)


def check_capital_link(project_id: int, body: dict[str, Any]) -> int | None:
    """Capital naming the finance allocation that funds it (`funded_by_allocation`, issue 16): the allocation
    exists, is of the project's plan (or a plan applying it, or the one it applies), of its item (a sub-item, or an
    item containing it), of the capital's source and fiscal year, for a unit containing the station. Checked here
    as only the gateway talks to both services. Returns the allocation's room as finance says it (allocated less
    what it passed down; None without a link): investment takes off the capital already linked to it and decides
    `exceeds_allocation` under its own lock (contract.CapitalCommandIn), so two links at once cannot both pass."""
    allocation_id = body.get(LINK_FIELD)
    if allocation_id is None:
        return None
    found = clients().fan_out(
        {
            "project": ("investment", "get_project", (project_id,), {}),
            "allocation": ("finance", "get_allocation", (allocation_id,), {}),
        }
    )
    for key, value in found.items():
        if key == "allocation" and isinstance(value, NotFound):
            raise DomainError.one("unknown_allocation", f"Không có phân bổ số {allocation_id}.", LINK_FIELD)
        if isinstance(value, Exception):
            raise value
    project, allocation = found["project"], found["allocation"]
    require_station(project["station_code"], "project_id")
    plan = get_plan(project["plan_id"])
    related = {plan.id, *(p.id for p in catalog.district_plans_of(plan.id))}
    if plan.parent_number is not None:
        related.add(catalog.get_plan_by_number(plan.parent_number).id)
    item, own = str(allocation["item_code"]), str(project["item_code"])
    name = f"Phân bổ số {allocation_id}"
    if allocation["plan_id"] not in related or not (
        item == own or item.startswith(own + ".") or own.startswith(item + ".")
    ):
        raise DomainError.one(
            "allocation_not_for_project",
            f"{name} thuộc kế hoạch {allocation['plan_id']}, mục {item}: không phải tiền của mục {own} của dự án.",
            LINK_FIELD,
        )
    if allocation["source"] != body["source"]:
        raise DomainError.one(
            "allocation_other_source",
            f"{name} là nguồn {sources.name(allocation['source'])}, "
            f"vốn giao là nguồn {sources.name(body['source'])}.",
            LINK_FIELD,
        )
    if allocation["fiscal_year"] != body["fiscal_year"]:
        raise DomainError.one(
            "allocation_other_year",
            f"{name} là tiền năm {allocation['fiscal_year']}, vốn giao cho năm {body['fiscal_year']}.",
            LINK_FIELD,
        )
    if not units.within(str(allocation["recipient_unit"]), str(project["station_code"])):
        raise DomainError.one(
            "allocation_other_unit",
            f"{name} giao cho đơn vị {allocation['recipient_unit']}, không chứa trạm {project['station_code']}.",
            LINK_FIELD,
        )
    return int(allocation["allocated"]) - int(allocation["sub_allocated"])
