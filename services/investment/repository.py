"""SQLAlchemy access of investment's write side: row locks, the rows a command's guard reads under its lock,
and inserts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import Conflict, NotFound, error
from services.investment import records
from services.investment.domain import ProjectFigures, StatusRecord
from services.investment.domain.payments import Disbursed
from services.investment.models import Project, ProjectDisbursement, Station, StationStatus

LINK_LOCKS = 0x4C4E4B  # the advisory-lock space of links to a finance allocation ("LNK")


class InvestmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _lock_row(self, model: Any, row_id: int, column: Any) -> Any:
        """Lock one row for the rest of the unit of work. PostgreSQL: SELECT … FOR UPDATE. SQLite: pysqlite
        only opens its transaction at the first write, so a no-op UPDATE takes the database's write lock
        before the guard reads anything (two writers are serialised, the second one reads the first's rows)."""
        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(update(model).where(model.id == row_id).values({column: column}))
        return self.session.get(model, row_id, with_for_update=True)

    def lock_project(self, project_id: int) -> Project:
        """The project, locked: every money command on it reads its figures after this, one at a time."""
        project = self._lock_row(Project, project_id, Project.status)
        if project is None:
            raise NotFound([error("unknown_project", f"Không có dự án số {project_id}.", "project_id")])
        return project

    def lock_projects(self, project_ids: set[int]) -> dict[int, Project]:
        """The projects among `project_ids` (an unknown id is left out), locked in id order as every command
        locks one, so two sheets naming the same projects take turns and never wait on each other in a circle.
        SQLite: one no-op UPDATE takes the database's write lock first, as `_lock_row` does."""
        ids = sorted(project_ids)
        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(update(Project).where(Project.id.in_(ids)).values({Project.status: Project.status}))
        found = self.session.scalars(select(Project).where(Project.id.in_(ids)).order_by(Project.id).with_for_update())
        return {p.id: p for p in found}

    def disbursements(self, project_ids: set[int]) -> list[Disbursed]:
        """Every disbursement of these projects, as an imported statement is matched to them: one query a sheet."""
        rows = self.session.execute(
            select(
                ProjectDisbursement.id,
                ProjectDisbursement.project_id,
                ProjectDisbursement.source,
                ProjectDisbursement.reference,
                ProjectDisbursement.date,
                ProjectDisbursement.amount,
            ).where(ProjectDisbursement.project_id.in_(sorted(project_ids)))
        )
        return [Disbursed(*r) for r in rows]

    def lock_allocation(self, allocation_id: int) -> None:
        """Serialise the links to one finance allocation, across projects: the capital linked to it is read after
        this, one command at a time. PostgreSQL: a transaction-scoped advisory lock on (LINK_LOCKS, the id;
        finance's rows are not ours to lock). SQLite: `lock_project` already holds the database's write lock."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:space, CAST(:id % 2147483647 AS integer))"),
                {"space": LINK_LOCKS, "id": allocation_id},
            )

    def linked_to_allocation(self, allocation_id: int) -> int:
        """Σ capital of every project naming finance allocation `allocation_id` (reductions netted)."""
        return records.linked_to_allocation(self.session, allocation_id)

    def lock_station(self, station: Station) -> None:
        """Serialise recordings for one station, so "becomes true" is decided once."""
        self._lock_row(Station, station.id, Station.code)

    def project_figures(self, project_id: int) -> ProjectFigures:
        """What a money guard reads after `lock_project`: estimate, settled cost, capital and disbursed by source."""
        return records.project_figures(self.session, project_id)

    def station_versions(self, code: str) -> list[Station]:
        return records.station_versions(self.session, code)

    def latest_status(self, station_id: int, attribute: str) -> StatusRecord | None:
        """The station's current record of an attribute (latest by year, then by recording order)."""
        row = self.session.execute(
            select(StationStatus.id, StationStatus.year, StationStatus.value)
            .where(StationStatus.station_id == station_id, StationStatus.attribute == attribute)
            .order_by(StationStatus.year.desc(), StationStatus.id.desc())
            .limit(1)
        ).first()
        return StatusRecord(row.id, row.year, row.value) if row else None

    def add(self, *rows: Any) -> None:
        """Insert rows now (flushed), so their ids are known to the events and answers."""
        self.session.add_all(rows)
        self.session.flush()

    def add_versions(self, rows: Iterable[Any]) -> None:
        """Insert numbered versions; two writers that took the same next number meet the unique key and the
        second is told to read again, with nothing half-written."""
        self.session.add_all(list(rows))
        try:
            self.session.flush()
        except IntegrityError:
            raise Conflict.one(
                "indicator_conflict", "Số liệu vừa được người khác cập nhật; hãy tải lại rồi ghi lần nữa."
            ) from None
