"""Investment's commands: one function per command, each given the unit of work it runs in.

Each loads its payload with the contract's schema, reads what its guard needs through `uow.repo` (money
commands under the project's row lock, so two concurrent commands cannot both pass a guard only one of them
may pass), asks domain/ for the decision, writes through `uow.repo` and announces it with `uow.publish`. Money
rows are only ever inserted. Handlers never commit: leaving the unit of work does. The answer is what
was written as the contract shows it (records.py), read in the same transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.common import clock, imports
from services.common.commands import load_command
from services.common.contracts import investment as contract
from services.common.errors import DomainError, Malformed, error
from services.investment import domain
from services.investment.domain import indicators, payments
from services.investment.models import (
    IndicatorFact,
    Project,
    ProjectCapital,
    ProjectCompletion,
    ProjectDisbursement,
    ProjectEstimate,
    ProjectStatusChange,
    StationStatus,
)
from services.investment.records import (
    Subject,
    capital_dict,
    columns,
    current_values,
    disbursement_dict,
    estimate_dict,
    fact_versions,
    facts_of,
    plan_or_refuse,
    project_detail,
    project_totals,
    status_dict,
    subject,
)
from services.investment.unit_of_work import InvestmentUnitOfWork


def _pick(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    """The named fields of a loaded command (what its row stores) or of its answer (what its event carries)."""
    return {name: fields[name] for name in names}


# --------------------------------------------------------------------------- projects


def register_project(
    uow: InvestmentUnitOfWork, payload: dict[str, Any], actor: str | None = None, today: date | None = None
) -> dict[str, Any]:
    data = load_command(contract.ProjectIn, payload)
    today = today or clock.today()
    domain.check_kind(data["kind"])
    domain.check_estimate(data["estimated_cost"])
    domain.check_years(data["start_year"], data["end_year"])
    domain.check_initial_status(data["status"])
    plan = plan_or_refuse(data["plan_id"], data["item_code"], refusal=DomainError)
    on = data["decision_date"] or (date(data["start_year"], 1, 1) if data["start_year"] else None)
    versions = uow.repo.station_versions(data["station_code"])
    station = domain.version_for_project(versions, data["station_code"], (plan.period_from, plan.period_to), on, today)
    domain.check_within_plan(plan.unit, plan.number, station.code, station.name)
    project = Project(
        station_id=station.id,
        station_code=station.code,
        plan_id=plan.id,
        created_by=actor,
        **_pick(data, "kind", "title", "item_code", "status", "start_year", "end_year", "decision_no", "decision_date"),
    )
    uow.repo.add(project)
    uow.repo.add(
        ProjectStatusChange(
            project_id=project.id,
            from_status=None,
            to_status=project.status,
            effective_date=data["decision_date"] or today,
            decision_no=data["decision_no"],
            recorded_by=actor,
        ),
        ProjectEstimate(
            project_id=project.id,
            amount=data["estimated_cost"],
            decision_no=data["decision_no"],
            decision_date=data["decision_date"],
            note="Tổng mức đầu tư khi đăng ký dự án",
            recorded_by=actor,
        ),
    )
    uow.publish(
        "project_registered",
        {
            "project_id": project.id,
            **columns(project, "station_code", "kind", "plan_id", "item_code"),
            "estimated_cost": data["estimated_cost"],
        },
    )
    return project_detail(uow.session, project.id, today)


def assign_capital(
    uow: InvestmentUnitOfWork, project_id: int, payload: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    data = load_command(contract.CapitalCommandIn, payload)
    project = uow.repo.lock_project(project_id)
    domain.check_year(data["fiscal_year"], "fiscal_year")
    domain.check_source(data["source"], data["fiscal_year"], data["fund_year"], data["use"])
    figures = uow.repo.project_figures(project.id)
    domain.check_capital(figures, data["source"], data["amount"])
    link = data["funded_by_allocation"]
    domain.check_link(figures, link, data["amount"])
    if link is not None and data["amount"] > 0:
        uow.repo.lock_allocation(link)
        domain.check_link_room(link, data["allocation_room"], uow.repo.linked_to_allocation(link), data["amount"])
    row = ProjectCapital(
        project_id=project.id,
        surplus_use=data["use"],
        recorded_by=actor,
        **_pick(
            data, "source", "fiscal_year", "fund_year", "amount", "decision_no", "decision_date", "funded_by_allocation"
        ),
    )
    uow.repo.add(row)
    answer = capital_dict(row)
    uow.publish(
        "capital_assigned",
        {
            "capital_id": row.id,
            **_pick(answer, "project_id", "source", "fiscal_year", "fund_year", "use", "amount"),
            "funded_by_allocation": row.funded_by_allocation,
        },
    )
    return {**answer, "project": project_totals(figures.plus(row.source, capital=row.amount))}


def disburse(
    uow: InvestmentUnitOfWork, project_id: int, payload: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    data = load_command(contract.DisbursementIn, payload)
    project = uow.repo.lock_project(project_id)
    row, figures = _record_disbursement(uow, project, data, actor)
    return {**disbursement_dict(row), "project": project_totals(figures)}


def import_disbursements(
    uow: InvestmentUnitOfWork, payload: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """A sheet of project disbursements (the gateway's import of a treasury statement), in one transaction: each
    row checked and recorded as `disburse` does, unless investment already holds its voucher (services/common/
    imports.py, domain/payments.py). One refused row refuses the sheet, every refusal naming its row, and nothing
    is written; rows are taken in order, so a payment is checked against what the rows above it paid."""
    data = load_command(contract.DisbursementImportIn, payload)
    projects = uow.repo.lock_projects({r["project_id"] for r in data["rows"]})
    recorded = payments.recorded_payments(uow.repo.disbursements(set(projects)))
    ledger = imports.PaymentMatcher(recorded, payments.account_name, payments.undo_advice)
    # Each project's figures read once, then carried past each payment recorded (its row is locked till commit).
    figures: dict[int, domain.ProjectFigures] = {}

    def take(row: dict[str, Any]) -> tuple[int, bool]:
        project = projects.get(row["project_id"])
        if project is None:
            raise DomainError.one("unknown_project", f"Không có dự án số {row['project_id']}.", "project_id")
        paid_from = payments.account(project.id, row["source"])
        twin = ledger.match(paid_from, row["reference"], row["date"], row["amount"])
        if twin is not None:
            return twin, False
        paid, figures[project.id] = _record_disbursement(uow, project, row, actor, figures.get(project.id))
        return paid.id, True

    return imports.take_rows(data["rows"], take)


def _record_disbursement(
    uow: InvestmentUnitOfWork,
    project: Project,
    data: dict[str, Any],
    actor: str | None,
    figures: domain.ProjectFigures | None = None,
) -> tuple[ProjectDisbursement, domain.ProjectFigures]:
    """Check one payment against the project's figures (the project locked; read here unless given), insert it
    and announce it; the figures after it."""
    domain.check_source(data["source"])
    domain.check_year(data["date"].year, "date")
    figures = figures or uow.repo.project_figures(project.id)
    domain.check_disbursement(figures, data["source"], data["amount"])
    row = ProjectDisbursement(
        project_id=project.id,
        year=data["date"].year,
        recorded_by=actor,
        **_pick(data, "source", "amount", "date", "reference"),
    )
    uow.repo.add(row)
    answer = disbursement_dict(row)
    uow.publish(
        "project_disbursed", {"disbursement_id": row.id, **_pick(answer, "project_id", "source", "amount", "date")}
    )
    return row, figures.plus(row.source, disbursed=row.amount)


def revise_estimate(
    uow: InvestmentUnitOfWork, project_id: int, payload: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    data = load_command(contract.EstimateIn, payload)
    project = uow.repo.lock_project(project_id)
    domain.check_revised_estimate(uow.repo.project_figures(project.id), data["amount"])
    row = ProjectEstimate(
        project_id=project.id, recorded_by=actor, **_pick(data, "amount", "decision_no", "decision_date", "note")
    )
    uow.repo.add(row)
    answer = estimate_dict(row)
    uow.publish(
        "project_estimate_revised", {"estimate_id": row.id, **_pick(answer, "project_id", "amount", "decision_no")}
    )
    return {**answer, "project": project_totals(uow.repo.project_figures(project.id))}


def _move(
    uow: InvestmentUnitOfWork,
    project: Project,
    to: str,
    on: date,
    decision_no: str | None,
    note: str | None,
    actor: str | None,
) -> None:
    """One step of the project's status: its history row, its event, and the current status kept beside them."""
    uow.repo.add(
        ProjectStatusChange(
            project_id=project.id,
            from_status=project.status,
            to_status=to,
            effective_date=on,
            decision_no=decision_no,
            note=note,
            recorded_by=actor,
        )
    )
    uow.publish(
        "project_status_changed",
        {"project_id": project.id, "from_status": project.status, "to_status": to, "effective_date": on.isoformat()},
    )
    project.status = to


def change_status(
    uow: InvestmentUnitOfWork,
    project_id: int,
    payload: dict[str, Any],
    actor: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    data = load_command(contract.StatusIn, payload)
    project = uow.repo.lock_project(project_id)
    domain.check_transition(project.status, data["status"])
    on = data["effective_date"] or today or clock.today()
    _move(uow, project, data["status"], on, data["decision_no"], data["note"], actor)
    uow.session.flush()
    return project_detail(uow.session, project.id, today)


def complete_project(
    uow: InvestmentUnitOfWork,
    project_id: int,
    payload: dict[str, Any],
    actor: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    data = load_command(contract.CompletionIn, payload)
    project = uow.repo.lock_project(project_id)
    steps = domain.completion_steps(project.status)
    domain.check_settlement(uow.repo.project_figures(project.id), data["settled_cost"])
    domain.check_completion_dates(data["completed_on"], data["decision_date"])
    row = ProjectCompletion(
        project_id=project.id,
        recorded_by=actor,
        **_pick(data, "settled_cost", "completed_on", "decision_no", "decision_date"),
    )
    uow.repo.add(row)
    for step in steps:
        on = data["completed_on"] if step == "completed" else data["decision_date"]
        _move(uow, project, step, on, data["decision_no"], None, actor)
    uow.session.flush()
    uow.publish(
        "project_completed",
        {"project_id": project.id, "settled_cost": row.settled_cost, "completed_on": row.completed_on.isoformat()},
    )
    return project_detail(uow.session, project.id, today)


# --------------------------------------------------------------------------- station attributes


def record_station_status(
    uow: InvestmentUnitOfWork, code: str, payload: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    data = load_command(contract.StationStatusIn, payload)
    domain.check_year(data["year"], "year")
    value = domain.parse_attribute_value(data["attribute"], data["value"])
    station = domain.version_for_fact(
        uow.repo.station_versions(code), code, data["year"], data["decision_date"], data["station_valid_from"]
    )
    uow.repo.lock_station(station)
    before = uow.repo.latest_status(station.id, data["attribute"])
    row = StationStatus(
        station_id=station.id,
        station_code=station.code,
        value=value,
        recorded_by=actor,
        **_pick(data, "attribute", "year", "decision_no", "decision_date", "note"),
    )
    uow.repo.add(row)
    new = domain.StatusRecord(row.id, row.year, row.value)
    reached = data["attribute"] in domain.CRITERIA and domain.becomes_true(before, new)
    if reached:
        uow.publish(
            "station_criteria_reached", {"station_code": station.code, "criterion": row.attribute, "year": row.year}
        )
    if data["attribute"] == domain.FACILITY_ATTRIBUTE:
        uow.publish(
            "station_facility_set", {"station_code": station.code, "facility_code": row.value, "year": row.year}
        )
    current = domain.current_of([r for r in (before, new) if r is not None])
    return {
        **status_dict(row),
        "station_valid_from": station.valid_from.isoformat(),
        "current": domain.typed_value(row.attribute, current.value) if current else None,
        "current_year": current.year if current else None,
        "criteria_reached": reached,
    }


# --------------------------------------------------------------------------- indicator facts


def _fact_row(
    s: Subject, year: int, merged: dict[str, Any], changed: list[str], version: int, actor: str | None
) -> IndicatorFact:
    return IndicatorFact(
        station_id=s.station.id if s.station else None,
        unit_code=s.code,
        unit_valid_from=s.valid_from,
        level=s.level,
        year=year,
        version=version,
        source=merged["source"],
        changed=changed,
        recorded_by=actor,
        **{n: merged[n] for n in indicators.FACT_NAMES},
    )


def record_indicators(
    uow: InvestmentUnitOfWork, code: str, year: int, payload: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """A new version of a unit's facts for a year: the fields given set over the current ones (null clears
    one); `source` names the document or survey of this version. Identical facts make no new version."""
    if not isinstance(payload, dict):
        raise Malformed.one("invalid_json", "Nội dung phải là một đối tượng JSON.")
    body = dict(payload)
    valid_from = body.pop("station_valid_from", None)
    try:
        on = date.fromisoformat(valid_from) if valid_from else None
    except (TypeError, ValueError):
        raise DomainError.one("invalid", "Ngày phải có dạng YYYY-MM-DD.", "station_valid_from") from None
    s = subject(uow.session, code, year, on)
    rows = fact_versions(uow.session, s, year)
    current = current_values(rows)
    merged, changed, problems = indicators.merge_facts(current, body, s.level)
    if problems:
        raise DomainError([error(p.code, p.message, p.field) for p in problems])
    created = current is None or merged != current
    if created:
        uow.repo.add_versions([_fact_row(s, year, merged, changed, len(rows) + 1, actor)])
    return {**facts_of(uow.session, s.code, year, s.valid_from), "created": created}


def import_indicators(
    uow: InvestmentUnitOfWork, year: int, rows: list[dict[str, Any]], actor: str | None = None
) -> dict[str, Any]:
    """A filled-in sheet: `rows` = [{row, code, values}] where `values` is every column of the row (an empty
    cell is null). Every row is checked before anything is written; any problem refuses the whole sheet,
    each problem naming its row and field. A row without any value is skipped; a row equal to the current
    facts makes no new version."""
    domain.check_year(year, "year")
    problems: list[dict[str, Any]] = []
    planned: list[IndicatorFact] = []
    units_written: list[str] = []
    seen: dict[tuple[str, date], int] = {}
    skipped = unchanged = 0
    for r in rows:
        row_no, code, values = r.get("row"), str(r.get("code") or "").strip(), dict(r.get("values") or {})
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
            skipped += 1
            continue
        try:
            s = subject(uow.session, code, year)
        except DomainError as exc:
            problems += [{**e, "row": row_no, "field": "code"} for e in exc.errors]
            continue
        if (s.code, s.valid_from) in seen:
            problems.append(
                error("duplicate_row", f"Mã {code} đã có ở dòng {seen[(s.code, s.valid_from)]}.", "code", row=row_no)
            )
            continue
        seen[(s.code, s.valid_from)] = row_no
        if s.level == "district":  # a centre's row carries only its own columns; the others stay empty
            values = {
                k: v for k, v in values.items() if k in indicators.CENTRE_FIELDS or k == "source" or v not in (None, "")
            }
        existing = fact_versions(uow.session, s, year)
        current = current_values(existing)
        merged, changed, found = indicators.merge_facts(current, values, s.level)
        if found:
            problems += [error(p.code, p.message, p.field, row=row_no) for p in found]
            continue
        if current is not None and merged == current:
            unchanged += 1
            continue
        planned.append(_fact_row(s, year, merged, changed, len(existing) + 1, actor))
        units_written.append(s.code)
    if problems:
        raise DomainError(problems)
    uow.repo.add_versions(planned)
    return {
        "year": year,
        "written": len(planned),
        "unchanged": unchanged,
        "skipped": skipped,
        "units": units_written,
    }
