"""The gateway's allocation guards (services/gateway/guards.py) on a real gateway database: PostgreSQL's advisory
locks, shared by every replica of the gateway, and SQLite's lock files, shared by every worker on the machine.
Two `AllocationGuards` stand for two gateway processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.db import make_engine
from services.common.errors import DomainError
from services.gateway.guards import STRIPES, AllocationGuards


@pytest.fixture
def two_gateways(any_db_url: str, tmp_path: Path) -> Iterator[tuple[AllocationGuards, AllocationGuards]]:
    engines = [make_engine(any_db_url), make_engine(any_db_url)]
    yield AllocationGuards(engines[0], tmp_path / "locks", 0.3), AllocationGuards(engines[1], tmp_path / "locks", 5)
    for engine in engines:
        engine.dispose()


def _held_in_thread(guards: AllocationGuards, ids: list[int], release: threading.Event) -> threading.Thread:
    taken = threading.Event()

    def hold() -> None:
        with guards.hold(ids):
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    return thread


def test_an_allocation_is_guarded_across_gateways_and_others_are_not(two_gateways) -> None:
    first, second = two_gateways
    release = threading.Event()
    holder = _held_in_thread(second, [7], release)
    try:
        with pytest.raises(DomainError) as refused, first.hold([7]):
            pass
        assert refused.value.status == 503 and refused.value.errors[0]["code"] == "allocation_busy"
        assert refused.value.retry_after == 2
        with first.hold([8, None]):  # another allocation (and no allocation) goes on at once
            pass
    finally:
        release.set()
        holder.join()
    with first.hold([7]):  # released with the block
        pass


def test_a_second_command_waits_for_the_first_then_goes_on(two_gateways) -> None:
    first, second = two_gateways
    order: list[str] = []
    release = threading.Event()
    holder = _held_in_thread(first, [7, 9], release)
    threading.Timer(0.3, lambda: (order.append("first done"), release.set())).start()
    with second.hold([9]):  # waits (up to 5 s) for the first
        order.append("second")
    holder.join()
    assert order == ["first done", "second"]


def test_a_failed_command_releases_its_guard(two_gateways) -> None:
    first, second = two_gateways
    with pytest.raises(RuntimeError), second.hold([7]):
        raise RuntimeError("the service refused")
    started = time.monotonic()
    with first.hold([7]):
        pass
    assert time.monotonic() - started < 0.3  # taken at once, not after the 0.3 s wait


def test_on_sqlite_allocations_share_a_lock_file_only_by_stripe(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    first, second = AllocationGuards(engine, tmp_path / "locks", 0.3), AllocationGuards(engine, tmp_path / "locks")
    release = threading.Event()
    holder = _held_in_thread(second, [7], release)
    try:
        # another allocation in the same stripe waits too (rare, and only as long as a command takes)
        with pytest.raises(DomainError), first.hold([7 + STRIPES]):
            pass
    finally:
        release.set()
        holder.join()
    assert len(list((tmp_path / "locks").iterdir())) == 1  # one file per stripe, not per allocation
    engine.dispose()
