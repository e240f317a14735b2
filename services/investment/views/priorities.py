"""Stations ranked for a year's investment list by the visible rule of priority_rules.yaml."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import clock, units
from services.investment import domain
from services.investment.models import Project, ProjectStatusChange
from services.investment.priority_rules import load_priority_rules, priority_rules_document
from services.investment.views.rows import check_unit, current_value, latest_status, stations_on


def priorities(
    session: Session,
    year: int,
    unit: str | None = None,
    today: date | None = None,
    rules: domain.PriorityRules | None = None,
) -> dict[str, Any]:
    """Stations ranked for `year`'s investment list by the visible rule of priority_rules.yaml."""
    today = today or clock.today()
    check_unit(unit)
    rules = rules or load_priority_rules()
    on = date(year, 1, 1) if year > today.year else domain.as_of_date(year, today)
    stations = stations_on(session, on, (unit,), today)
    status = latest_status(session, [s.id for s in stations], up_to_year=year)
    # Last completion year and projects in progress per station code, summed in the database.
    completed = session.execute(
        select(Project.station_code, func.max(ProjectStatusChange.effective_date))
        .join(ProjectStatusChange, ProjectStatusChange.project_id == Project.id)
        .where(ProjectStatusChange.to_status == "completed", ProjectStatusChange.effective_date <= on)
        .group_by(Project.station_code)
    ).all()
    last_done: dict[str, int] = {}
    for code, when in completed:
        target = units.successor_on(code, on)
        when_year = when.year if isinstance(when, date) else date.fromisoformat(str(when)).year
        last_done[target] = max(last_done.get(target, 0), when_year)
    ongoing: dict[str, int] = defaultdict(int)
    for code, n in session.execute(
        select(Project.station_code, func.count())
        .where(Project.status.in_(("approved", "under_construction")))
        .group_by(Project.station_code)
    ):
        ongoing[units.successor_on(code, on)] += int(n)
    items = []
    for s in stations:
        current = status.get(s.id, {})
        facts = domain.StationFacts(
            code=s.code,
            commune_kind=s.commune_kind,
            national_health_criteria=current_value(current, "national_health_criteria"),
            nrd_standard=current_value(current, "nrd_standard"),
            nrd_target_year=current_value(current, "nrd_target_year"),
            building_condition=current_value(current, "building_condition"),
            last_completed_year=last_done.get(s.code),
            projects_in_progress=ongoing.get(s.code, 0),
        )
        score, parts = domain.priority_score(facts, rules, year)
        items.append(
            {
                "code": s.code,
                "name": s.name,
                "district": s.district,
                "district_name": s.district_name,
                "commune_kind": s.commune_kind,
                "score": score,
                "parts": [p.as_dict() for p in parts],
                "facts": {
                    "national_health_criteria": facts.national_health_criteria,
                    "nrd_standard": facts.nrd_standard,
                    "nrd_target_year": facts.nrd_target_year,
                    "building_condition": facts.building_condition,
                    "last_completed_year": facts.last_completed_year,
                    "projects_in_progress": facts.projects_in_progress,
                },
            }
        )
    items.sort(key=lambda i: (-i["score"], i["code"]))
    for rank, item in enumerate(items, 1):
        item["rank"] = rank
    return {
        "year": year,
        "unit": unit or units.PROVINCE_CODE,
        "as_of": on.isoformat(),
        "rule": priority_rules_document(),
        "items": items,
    }
