"""Investment's read side: functions (session, …) -> answers. They read the models and pure rules only; nothing
of the write side (handlers, repository, unit of work) is imported here."""

from services.investment.views.funding import (
    funding_status,
    funding_status_kept,
    funding_tree,
    funding_tree_kept,
    medium_term,
    station_funding,
    surplus_capital,
)
from services.investment.views.indicators import facts_of, sheet_rows, targets
from services.investment.views.priorities import priorities
from services.investment.views.projects import list_projects, project_detail, project_figures, project_scope
from services.investment.views.stations import count_stations, get_station, list_stations

__all__ = [
    "count_stations",
    "facts_of",
    "funding_status",
    "funding_status_kept",
    "funding_tree",
    "funding_tree_kept",
    "get_station",
    "list_projects",
    "list_stations",
    "medium_term",
    "priorities",
    "project_detail",
    "project_figures",
    "project_scope",
    "sheet_rows",
    "station_funding",
    "surplus_capital",
    "targets",
]
