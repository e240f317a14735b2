"""Claim amounts stay exact on disk on both engines (services/common/db.ExactNumeric): NUMERIC on PostgreSQL, whole
units of the last place on SQLite, never a binary float; and migration 0010 turns SQLite's floats of an older
database into those units and back."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import sessionmaker

from services.claims import handlers, views
from services.claims.models import Assessment, Claim, ClaimLine, cents
from services.common.blobstore import FilesystemBlobStore
from services.common.db import ExactNumeric, make_engine
from services.common.migrate import alembic_config, upgrade
from tests.integration.claims.conftest import ClaimsEnv, generate

# What PostgreSQL's NUMERIC(18, 2) / (18, 3) keeps of each (half away from zero past the last place).
MONEY = [
    ("0.29", "0.29"),
    ("0.1", "0.10"),
    ("-12.34", "-12.34"),
    ("1234567890123456.78", "1234567890123456.78"),  # past a float's 15-16 digits
    ("0.005", "0.01"),
    ("-0.005", "-0.01"),
    ("2.675", "2.68"),  # a float rounds 2.675 down (it is 2.67499999…)
    ("7", "7.00"),
]
QUANTITY = [("0.3335", "0.334"), ("1.5", "1.500"), ("0.0004", "0.000")]


def test_exact_numeric_keeps_what_postgresql_keeps(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    table = Table(
        "amounts",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("money", ExactNumeric(18, 2)),
        Column("quantity", ExactNumeric(18, 3)),
    )
    table.create(engine)
    rows = [{"id": i, "money": Decimal(m), "quantity": None} for i, (m, _) in enumerate(MONEY)]
    rows += [{"id": 100 + i, "money": None, "quantity": Decimal(q)} for i, (q, _) in enumerate(QUANTITY)]
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
        got = {i: m if m is not None else q for i, m, q in conn.execute(select(table))}
        stored = conn.execute(text("SELECT money FROM amounts WHERE id = 0")).scalar()
        with pytest.raises(StatementError, match="số thực"):  # the type's TypeError, as SQLAlchemy wraps it
            conn.execute(insert(table), [{"id": 999, "money": 0.29}])
    engine.dispose()
    assert [str(got[i]) for i in range(len(MONEY))] == [want for _, want in MONEY]
    assert [str(got[100 + i]) for i in range(len(QUANTITY))] == [want for _, want in QUANTITY]
    assert all(isinstance(v, Decimal) for v in got.values())
    # SQLite: the integer of cents, not 0.28999999999999998; PostgreSQL: its NUMERIC
    assert stored == (29 if engine.dialect.name == "sqlite" else Decimal("0.29"))


def test_an_intake_stores_no_float_and_sums_in_cents(claims_env) -> None:
    st = claims_env.load(generate(records=40, seed=3)[0])
    with claims_env.session() as s:
        c = s.scalars(select(Claim).where(Claim.file_id == st["id"], Claim.status == "accepted")).first()
        claims_env.run(
            handlers.record_assessments,
            {"facility_code": c.facility_code, "items": [{"ma_lk": c.ma_lk, "approved_amount": str(c.t_bhtt)}]},
            "bhxh",
        )
    with claims_env.session() as s:
        if s.get_bind().dialect.name == "sqlite":
            kinds = set()
            for table, columns in (
                ("claims", ("t_tongchi_bv", "t_bhtt", "bhtt_capitation")),
                ("claim_lines", ("quantity", "unit_price", "tyle_tt_bh", "thanh_tien_bv", "t_bhtt", "muc_huong")),
                ("assessments", ("requested", "approved_amount")),
            ):
                for col in columns:
                    kinds |= set(s.scalars(text(f"SELECT DISTINCT typeof({col}) FROM {table}")))  # noqa: S608
            assert kinds <= {"integer", "null"}, kinds
        amounts = s.scalars(select(Claim.t_bhtt).where(Claim.file_id == st["id"], Claim.status == "accepted")).all()
        summed = s.scalar(select(cents(Claim.t_bhtt)).where(Claim.file_id == st["id"], Claim.status == "accepted"))
        approved = s.scalar(select(Assessment.approved_amount))
        line = s.scalars(select(ClaimLine).where(ClaimLine.claim_id == c.id)).first()
        totals = views.kept_totals(s, [c.facility_code], c.period_year, c.period_quarter)
    assert summed == int(sum(amounts, Decimal(0)) * 100) and summed > 0
    assert approved == c.t_bhtt and approved.as_tuple().exponent == -2
    assert line is not None and line.quantity is not None and line.quantity.as_tuple().exponent == -3
    assert totals["approved"] == int(c.t_bhtt * 100)


def test_migration_0010_turns_sqlite_floats_into_units_and_back(tmp_path: Path) -> None:
    # SQLite only: on PostgreSQL, whose NUMERIC is exact, the migration changes nothing.
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    upgrade("claims", url)
    engine = make_engine(url)
    claims_env = ClaimsEnv(sessionmaker(engine, expire_on_commit=False), FilesystemBlobStore(tmp_path / "blobs"))
    claims_env.load(generate(records=30, seed=4)[0])

    def amounts() -> list[tuple]:
        with claims_env.session() as s:
            return [
                *s.execute(select(Claim.id, Claim.t_bhtt, Claim.t_tongchi_bv).order_by(Claim.id)).all(),
                *s.execute(select(ClaimLine.id, ClaimLine.quantity, ClaimLine.t_bhtt).order_by(ClaimLine.id)).all(),
            ]

    def stored_kinds() -> set[str]:
        with engine.connect() as conn:
            return set(conn.scalars(text("SELECT DISTINCT typeof(t_bhtt) FROM claim_lines")))

    before = amounts()
    cfg = alembic_config("claims", engine.url.render_as_string(hide_password=False))
    command.downgrade(cfg, "0009")
    # as an older database holds them (a NUMERIC column keeps a float that is a whole number as an integer)
    assert "real" in stored_kinds()
    command.upgrade(cfg, "head")
    assert stored_kinds() == {"integer"}
    assert amounts() == before
    engine.dispose()
