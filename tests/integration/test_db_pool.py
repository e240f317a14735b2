"""The connection budget of an engine on PostgreSQL (docs/deployment.md "What scales how"): how many connections
it keeps open while idle, and how many more a peak may open, are the operator's to set."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from services.common.db import make_engine
from tests.support.infra import pg_database

pytestmark = pytest.mark.postgres


def _open_on_server(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ).scalar_one()


def _until(done, seconds: float) -> None:
    """Poll `done` every 50 ms until it holds or `seconds` pass; the caller asserts."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def pg_url(postgres_ok: bool):
    if not postgres_ok:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (see README)")
    with pg_database() as url:
        yield url


def test_an_engine_keeps_only_its_pool_size_open_after_a_peak(monkeypatch, pg_url):
    monkeypatch.setenv("YTCS_DB_POOL_SIZE", "2")
    monkeypatch.setenv("YTCS_DB_MAX_OVERFLOW", "4")
    engine = make_engine(pg_url)
    probe = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        held, release = [], threading.Event()

        def hold() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                held.append(1)
                release.wait(10)

        threads = [threading.Thread(target=hold) for _ in range(6)]  # pool 2 + overflow 4: all six at once
        for t in threads:
            t.start()
        _until(lambda: len(held) == 6, seconds=10)
        assert len(held) == 6
        assert _open_on_server(probe) == 6
        release.set()
        for t in threads:
            t.join()
        # The overflow is closed when returned and the pool's two stay (a closed backend leaves the server's view
        # a moment after its client let go).
        _until(lambda: _open_on_server(probe) == 2, seconds=5)
        assert _open_on_server(probe) == 2
    finally:
        engine.dispose()
        probe.dispose()


def test_a_pool_size_that_is_not_a_whole_number_in_range_is_named(monkeypatch):
    monkeypatch.setenv("YTCS_DB_POOL_SIZE", "lots")
    with pytest.raises(ValueError, match="YTCS_DB_POOL_SIZE must be a whole number from 1 to 100"):
        make_engine("postgresql://postgres@127.0.0.1:5432/postgres")
    monkeypatch.setenv("YTCS_DB_POOL_SIZE", "3")
    monkeypatch.setenv("YTCS_DB_MAX_OVERFLOW", "-1")
    with pytest.raises(ValueError, match="YTCS_DB_MAX_OVERFLOW"):
        make_engine("postgresql://postgres@127.0.0.1:5432/postgres")
