"""Which facilities are commune health stations, from investment's station register (event
`station_facility_set`, projected into `commune_stations`): Luật BHYT Điều 22 k1 e pays 100 % at a commune
station, so the benefit-level check must know it (ValidationContext.commune_station)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.claims.models import CommuneStation


def commune_station_facilities(session: Session) -> set[str]:
    """MA_CSKCB each station claims under now: per station, its newest record by (year, arrival)."""
    newest = (
        select(
            CommuneStation.facility_code,
            func.row_number()
            .over(partition_by=CommuneStation.station_code, order_by=(CommuneStation.year.desc(),
                                                                      CommuneStation.id.desc()))
            .label("n"),
        )
        .subquery()
    )
    return set(session.scalars(select(newest.c.facility_code).where(newest.c.n == 1)))


def is_commune_station(session: Session, facility: str) -> bool:
    return facility in commune_station_facilities(session)
