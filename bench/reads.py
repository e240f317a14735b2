"""Claims' read path at scale: the scan over claims against the kept facility-quarter totals (issue 19).

    .venv/bin/python -m bench.reads --claims 20000,200000,1000000 --postgres
    .venv/bin/python -m bench.reads --claims 20000,200000                      # SQLite

A fresh database gets one generated file through the real intake (services/devtools/claims_generator.py, 4 facilities,
12 months, 5 % of the claims assessed through `handlers.record_assessments`), then its claims are copied in SQL
(new MA_LK, same money) up to each size and the totals rebuilt with the migration's own backfill, which the
scenario test proves equal to what intake and assessment keep. Timed in-process, warm, `--repeat` times each:
`scan` is `views.claim_totals` (what the reconciliation and the summary computed before), `kept` is
`views.kept_totals` (what they read now); both must give the same figures or the bench fails.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.intake import load_average
from bench.soak import percentile

FACILITIES = ("91060", "91061", "91062", "91063")


@contextlib.contextmanager
def database(postgres: bool, work: str) -> Iterator[str]:
    if postgres:
        from tests.support.infra import pg_database

        with pg_database("ytcs_bench_reads") as url:
            yield url
    else:
        yield f"sqlite:///{work}/claims.db"


def migration(name: str) -> Any:
    path = resources.files("services.claims").joinpath(f"migrations/versions/{name}.py")
    spec = importlib.util.spec_from_file_location(f"claims_{name}", str(path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backfill_sql() -> str:
    return str(migration("0005_facility_quarter_totals")._BACKFILL)


def seed(factory: sessionmaker[Session], work: str) -> int:
    """One file per facility through the intake, 5 % of the accepted claims assessed."""
    from services.claims import handlers
    from services.claims.intake import Intake
    from services.claims.models import Claim
    from services.claims.unit_of_work import ClaimsUnitOfWork
    from services.common.blobstore import FilesystemBlobStore
    from services.common.db import transaction
    from services.devtools import claims_generator as generator

    store = FilesystemBlobStore(Path(work) / "blobs")
    rng = random.Random(19)
    for k, facility in enumerate(FACILITIES):
        buf = io.BytesIO()
        generator.generate(buf, facility=facility, records=1_000, year=2024, months=list(range(1, 13)), seed=k + 1)
        blob = store.put(io.BytesIO(buf.getvalue()))
        with ClaimsUnitOfWork(factory) as uow:
            data = {"sha256": blob.sha256, "size": blob.size, "blob_name": blob.name, "uploaded_by": "bench"}
            file_id = handlers.register_file(uow, data)["id"]
        Intake(factory, store).process(file_id)
        with transaction(factory) as s:
            rows = s.execute(select(Claim.ma_lk, Claim.t_bhtt).where(
                Claim.status == "accepted", Claim.facility_code == facility)).all()
        items = [{"ma_lk": m, "approved_amount": str(t), "reason_code": None} for m, t in rng.sample(rows, 50)]
        for item in items[:20]:
            item.update(approved_amount="0", reason_code="sai_gia")
        with ClaimsUnitOfWork(factory) as uow:
            handlers.record_assessments(uow, {"facility_code": facility, "items": items}, "bench")
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Claim)) or 0)


def grow(factory: sessionmaker[Session], target: int) -> int:
    """Copy the claims (new MA_LK and record index, same money and period) until there are `target` of them."""
    from services.claims.models import Claim

    columns = [c.name for c in Claim.__table__.columns if c.name != "id"]
    copied = ", ".join(
        {"ma_lk": "ma_lk || '-' || :gen", "record_index": "record_index + :offset"}.get(c, c) for c in columns
    )
    gen = 0
    while True:
        with factory() as s:
            have = int(s.scalar(select(func.count()).select_from(Claim)) or 0)
            if have >= target:
                return have
            top = int(s.scalar(select(func.max(Claim.record_index))) or 0) + 1
            gen += 1
            limit = target - have
            s.execute(text(f"INSERT INTO claims ({', '.join(columns)}) SELECT {copied} FROM claims "  # noqa: S608  # nosec B608 - column names of the model
                           f"ORDER BY id LIMIT :limit"), {"gen": f"c{gen}x{have}", "offset": top, "limit": limit})
            s.commit()


def rebuild_totals(factory: sessionmaker[Session]) -> None:
    """The totals by the backfill of migration 0005. That SQL reads amounts as they were stored then: on SQLite,
    before migration 0010 made them whole cents, so there the amounts go back to that form around it (0010's own
    conversion both ways, exact) and the totals are not a hundred times too large."""
    exact = migration("0010_exact_amounts_on_sqlite")
    with factory() as s:
        s.execute(text("DELETE FROM facility_quarter_totals"))
        exact.convert(s.connection(), to_units=False)
        s.execute(text(backfill_sql()))
        exact.convert(s.connection(), to_units=True)
        s.commit()
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE"))
            s.commit()


def timed(factory: sessionmaker[Session], fn: Callable[[Session], Any], repeat: int) -> tuple[Any, dict[str, float]]:
    times: list[float] = []
    answer = None
    with factory() as s:
        fn(s)  # warm
        for _ in range(repeat):
            t0 = time.perf_counter()
            answer = fn(s)
            times.append(time.perf_counter() - t0)
            s.rollback()
    times.sort()
    return answer, {"p50_ms": round(percentile(times, 50) * 1000, 2), "p99_ms": round(percentile(times, 99) * 1000, 2)}


def measure(size: int, postgres: bool, repeat: int) -> dict[str, Any]:
    from services.claims import views
    from services.claims.models import Claim
    from services.common.db import make_engine
    from services.common.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="ytcs-bench-reads-") as work, database(postgres, work) as url:
        upgrade("claims", url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        row: dict[str, Any] = {"claims": size, "db": "postgresql" if postgres else "sqlite",
                               "load_average": load_average(), "seeded": seed(factory, work)}
        row["claims"] = grow(factory, size)
        rebuild_totals(factory)
        questions: dict[str, tuple[Callable[[Session], Any], Callable[[Session], Any]]] = {
            "reconciliation (one facility-quarter)": (
                lambda s: views.claim_totals(s, [Claim.facility_code == "91060", Claim.period_year == 2024,
                                                   Claim.period_quarter == 3]),
                lambda s: views.kept_totals(s, ["91060"], 2024, 3)),
            "capitation summary (year, all facilities)": (
                lambda s: views.claim_totals(s, [Claim.period_year == 2024]),
                lambda s: views.kept_totals(s, None, 2024)),
        }
        for name, (scan, kept) in questions.items():
            a, scan_t = timed(factory, scan, max(3, repeat // 10))
            b, kept_t = timed(factory, kept, repeat)
            if a != b:
                raise SystemExit(f"{name}: kept totals {b} differ from the scan {a}")
            row[name] = {"scan": scan_t, "kept": kept_t}
        row["card search (a card of a two-card visit)"] = card_search(factory, repeat)
        engine.dispose()
        return row


def card_search(factory: sessionmaker[Session], repeat: int) -> dict[str, Any]:
    """`views.card_clause` (the card's index, and the partial index of joined cards) against the plain scan of
    every claim's cards for the same answer: a card a visit shares with another (the generator's 2 %)."""
    from sqlalchemy import literal

    from services.claims import views
    from services.claims.models import Claim

    with factory() as s:
        joined = s.scalar(select(Claim.ma_the_bhyt).where(Claim.ma_the_bhyt.like("%;%")).order_by(Claim.id).limit(1))
        count = int(s.scalar(select(func.count()).select_from(Claim).where(Claim.ma_the_bhyt.like("%;%"))) or 0)
    if joined is None:
        raise SystemExit("card search: the generated file has no visit under two cards")
    card = joined.split(";")[1]
    cards = literal(";") + Claim.ma_the_bhyt + literal(";")
    a, scan_t = timed(factory, lambda s: sorted(s.scalars(select(Claim.id).where(cards.contains(f";{card};")))),
                      max(3, repeat // 10))
    b, index_t = timed(factory, lambda s: sorted(s.scalars(select(Claim.id).where(views.card_clause(card)))), repeat)
    if a != b:
        raise SystemExit(f"card search: the index found {len(b)} claims, the scan {len(a)}")
    return {"claims_with_joined_cards": count, "found": len(b), "scan": scan_t, "index": index_t}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__.splitlines()[0])
    p.add_argument("--claims", default="20000,200000", help="comma-separated numbers of claims")
    p.add_argument("--postgres", action="store_true")
    p.add_argument("--repeat", type=int, default=200)
    args = p.parse_args(argv)
    for size in (int(x) for x in args.claims.split(",")):
        print(json.dumps(measure(size, args.postgres, args.repeat), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
