"""deploy/postgres/init-databases.sh on the real PostgreSQL: four databases, each owned by its own role, and
no role may connect to another service's database."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from tests.deploy.support import DEPLOY
from tests.support.infra import PG_ADMIN


@pytest.mark.postgres
def test_init_script_makes_one_database_and_role_per_service(postgres_ok: bool) -> None:
    if not postgres_ok:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (see README)")
    if not shutil.which("psql"):
        pytest.fail("psql is required (Debian's postgresql-client)")
    import psycopg2

    prefix = f"ytcs_t{uuid.uuid4().hex[:6]}_"
    host = PG_ADMIN.split("@", 1)[1].split("/", 1)[0]
    env = {
        **os.environ,
        "POSTGRES_USER": "postgres",
        "YTCS_DB_PASSWORD": "secret",
        "YTCS_DB_PREFIX": prefix,
        "PGHOST": host.split(":")[0],
        "PGPORT": host.split(":")[1] if ":" in host else "5432",
    }
    admin = psycopg2.connect(PG_ADMIN)
    admin.autocommit = True
    try:
        out = subprocess.run(
            ["bash", str(DEPLOY / "postgres" / "init-databases.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        cur = admin.cursor()
        cur.execute(
            "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
            "WHERE d.datname LIKE %s ORDER BY 1",
            (prefix + "%",),
        )
        rows = cur.fetchall()
        assert rows == sorted((prefix + s, prefix + s) for s in ("claims", "finance", "gateway", "investment"))
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgres@", "{user}@")
        psycopg2.connect(base.format(user=prefix + "finance") + f"/{prefix}finance").close()
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            psycopg2.connect(base.format(user=prefix + "finance") + f"/{prefix}claims")
    finally:
        cur = admin.cursor()
        for s in ("finance", "claims", "investment", "gateway"):
            cur.execute(f'DROP DATABASE IF EXISTS "{prefix}{s}" WITH (FORCE)')
            cur.execute(f'DROP ROLE IF EXISTS "{prefix}{s}"')
        admin.close()
