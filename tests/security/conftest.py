"""A stack of its own for the security suite, on PostgreSQL (the production database, whose SQL an injection
would have to get past) and its own vhost: hostile writes and planted markers never meet other tests' data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.infra import Stack, pg_database, rabbit_vhost


@pytest.fixture(scope="session")
def sec_stack(tmp_path_factory: pytest.TempPathFactory, postgres_ok: bool) -> Iterator[Stack]:
    if not postgres_ok:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (see README)")
    with (
        rabbit_vhost() as uri,
        pg_database("ytcs_secfin") as fin,
        pg_database("ytcs_secclm") as clm,
        pg_database("ytcs_secinv") as inv,
        pg_database("ytcs_secgw") as gw,
    ):
        stack = Stack(
            tmp_path_factory.mktemp("secstack"), uri, {"finance": fin, "claims": clm, "investment": inv, "gateway": gw}
        )
        stack.start(timeout=180)
        try:
            yield stack
        finally:
            stack.stop()


@pytest.fixture(scope="session")
def sec_tokens(sec_stack: Stack) -> dict[str, str]:
    """Unscoped tokens of every role, and tokens bound to Vĩnh Thuận (910)."""
    tokens = {role: sec_stack.token(role) for role in ("admin", "finance", "bhxh", "viewer")}
    tokens["viewer910"] = sec_stack.token("viewer", "910")
    tokens["finance910"] = sec_stack.token("finance", "910")
    tokens["bhxh910"] = sec_stack.token("bhxh", "910")
    return tokens
