"""One stack for the fault suite, on a RabbitMQ node and a PostgreSQL cluster of its own that may be broken.

The claims lease is shortened to 15 s (`YTCS_CLAIMS_LEASE_SECONDS`): a killed worker's file is taken up once
its lease expires, and the production default of 60 s would only make the suite slower, not different.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.infra import PrivatePostgres, PrivateRabbit
from tests.support.infra import Stack

# Large enough that a fault lands with most of the file still to go (it strikes at a quarter: ≈ 7 of 10 batches
# of 1000 left), small enough for well under a minute per scenario.
RECORDS = int(os.environ.get("YTCS_FAULT_RECORDS", "10000"))


@pytest.fixture(scope="session")
def private_rabbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbit]:
    if not PrivateRabbit.available():
        pytest.fail("the fault suite needs rabbitmq-server installed (it starts a private node)")
    node = PrivateRabbit(tmp_path_factory.mktemp("rabbit"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def private_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    if not PrivatePostgres.available():
        pytest.fail("the fault suite needs PostgreSQL's server binaries (it starts a private cluster)")
    # Not under pytest's temporary folder: that one is private to root, and the cluster runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="ytcs-fault-pg-"))
    pg = PrivatePostgres(base)
    try:
        pg.init()
        pg.start()
        yield pg
        pg.stop("immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_stack(
    tmp_path_factory: pytest.TempPathFactory, private_rabbit: PrivateRabbit, private_pg: PrivatePostgres
) -> Iterator[Stack]:
    dbs = {s: private_pg.create_database(f"ytcs_{s}") for s in ("finance", "claims", "investment", "gateway")}
    stack = Stack(tmp_path_factory.mktemp("faultstack"), private_rabbit.uri, dbs)
    stack.env["YTCS_CLAIMS_LEASE_SECONDS"] = "15"
    stack.start(timeout=180)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def admin(fault_stack: Stack) -> str:
    return fault_stack.token("admin")
