"""Investment's read side: functions (session, …) -> answers. They read the models, the rows as both sides read
them (records.py) and pure rules; nothing of the write side (handlers, repository, unit of work) is imported here."""

# A unit's indicator facts and a project's detail are also what the commands answer: they are read in records.py.
from services.investment.records import facts_of, linked_to_allocations, project_detail
from services.investment.views.funding import (
    funding_status,
    funding_status_kept,
    funding_tree,
    funding_tree_kept,
    medium_term,
    station_funding,
    surplus_capital,
)
from services.investment.views.indicators import sheet_rows, targets
from services.investment.views.priorities import priorities
from services.investment.views.projects import capital_by_source, list_projects, project_scope
from services.investment.views.stations import count_stations, get_station, list_stations

__all__ = [
    "capital_by_source",
    "count_stations",
    "facts_of",
    "funding_status",
    "funding_status_kept",
    "funding_tree",
    "funding_tree_kept",
    "get_station",
    "linked_to_allocations",
    "list_projects",
    "list_stations",
    "medium_term",
    "priorities",
    "project_detail",
    "project_scope",
    "sheet_rows",
    "station_funding",
    "surplus_capital",
    "targets",
]
