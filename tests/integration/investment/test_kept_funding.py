"""Investment keeps its funding answers between writes (views.funding_status_kept / funding_tree_kept), with a
stamp every writing transaction bumps (models.WRITES), so a kept answer is refreshed after each kind of write,
the project status updated in place included; SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.investment import handlers
from services.investment.models import WRITES, Project
from services.investment.views import funding as views
from tests.integration.investment.test_handlers_and_views import TODAY, capital, command, new_project, pay, run
from tests.integration.investment.test_handlers_and_views import db as db  # noqa: F401 - the fixture


def stamp(db: sessionmaker[Session]) -> int:
    with transaction(db) as s:
        return WRITES.stamp(s)[0]


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which answers were computed rather than taken from memory."""
    calls: list[str] = []
    status, tree = views.funding_status, views.funding_tree

    def counted_status(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append("item")
        return status(*args, **kwargs)

    def counted_tree(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append("tree")
        return tree(*args, **kwargs)

    monkeypatch.setattr(views, "funding_status", counted_status)
    monkeypatch.setattr(views, "funding_tree", counted_tree)
    return calls


def read(db: sessionmaker[Session]) -> tuple[dict[str, Any], dict[str, Any]]:
    item = run(db, views.funding_status_kept, 1, "II.5", 2024)
    tree = run(db, views.funding_tree_kept, 1, 2024)
    assert item == run(db, views.funding_status, 1, "II.5", 2024)  # what a fresh computation answers
    return item, tree


def test_kept_answers_refresh_after_every_kind_of_write(db: sessionmaker[Session], computed: list[str]) -> None:
    pid = new_project(db, estimated_cost=900)["id"]
    item, tree = read(db)
    computed.clear()
    assert read(db) == (item, tree) and computed == ["item"]  # kept: only the check's fresh call computed

    writes = [
        ("capital", lambda: capital(db, pid, "provincial_budget", 2024, 700)),
        ("disbursement", lambda: pay(db, pid, "provincial_budget", 300, "2024-05-05")),
        ("status", lambda: command(db, handlers.change_status, pid, {"status": "approved"}, today=TODAY)),
        ("station status", lambda: command(db, handlers.record_station_status, "30733",
                                       {"attribute": "national_health_criteria", "value": True, "year": 2021})),
        ("another project", lambda: new_project(db, estimated_cost=100)),
    ]
    for kind, write in writes:
        before = stamp(db)
        write()
        assert stamp(db) > before, kind
        computed.clear()
        item, tree = read(db)
        assert computed == ["item", "tree", "item"], kind  # both kept answers recomputed after the write
        computed.clear()
        read(db)
        assert computed == ["item"], kind  # and kept again until the next write
    assert (item["allocated"], item["disbursed"]) == (700, 300)
    assert tree["items"]["II.5"]["allocated"] == 700


def test_an_in_place_update_alone_moves_the_stamp(db: sessionmaker[Session]) -> None:
    """The project status is updated in place: a bare UPDATE of it, with no history row, still bumps."""
    pid = new_project(db)["id"]
    before = stamp(db)
    with transaction(db) as s:
        s.execute(update(Project).where(Project.id == pid).values(status="approved"))
    assert stamp(db) == before + 1
    with transaction(db) as s:  # the ORM way: load, assign, commit
        project = s.scalar(select(Project).where(Project.id == pid))
        project.status = "planned"
    assert stamp(db) == before + 2
    with transaction(db) as s:  # a read-only transaction does not
        s.scalar(select(Project).where(Project.id == pid))
    assert stamp(db) == before + 2
    with pytest.raises(RuntimeError), transaction(db) as s:  # nor a rolled-back one
        s.execute(update(Project).where(Project.id == pid).values(status="approved"))
        raise RuntimeError
    assert stamp(db) == before + 2
