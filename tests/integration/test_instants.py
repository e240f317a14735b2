"""Stored moments come back as the same instant, aware and in UTC, on both engines (services/common/db.Instant):
SQL orders them as instants. A claims answer naming its moments with their offset: test_answer_moments.py in
tests/integration/claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from services.common.db import Instant, make_engine

VIETNAM = timezone(timedelta(hours=7))
MOMENTS = {
    1: datetime(2024, 7, 15, 3, 0, tzinfo=UTC),
    2: datetime(2024, 7, 15, 9, 30, tzinfo=VIETNAM),  # 02:30 UTC: earlier than 1
    3: datetime(2024, 7, 15, 2, 45),  # naive: a stored moment, UTC
}


def test_an_instant_is_the_same_moment_aware_in_utc_on_both_engines(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    table = Table("moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", Instant))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i, "at": at} for i, at in MOMENTS.items()])
        if engine.dialect.name == "postgresql":  # a server kept on local time answers in +07:00
            conn.execute(text("SET TIME ZONE 'Asia/Ho_Chi_Minh'"))
        got = dict(conn.execute(select(table.c.id, table.c.at)).all())
        order = [i for (i,) in conn.execute(text("SELECT id FROM moments ORDER BY at"))]
        latest = conn.execute(select(table.c.at).order_by(table.c.at.desc()).limit(1)).scalar()
    engine.dispose()
    assert got[1] == MOMENTS[1] and got[2] == MOMENTS[2] and got[3] == MOMENTS[3].replace(tzinfo=UTC)
    assert all(at.utcoffset() == timedelta(0) for at in got.values())
    assert got[2].isoformat() == "2024-07-15T02:30:00+00:00"
    assert order == [2, 3, 1]  # by the instant, not by the wall clock each was written in
    assert latest == MOMENTS[1]
