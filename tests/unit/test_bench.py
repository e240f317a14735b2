"""Cheap checks that the benchmark code still measures what docs/benchmarks.md says (no timing here)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker

from bench import claims_intake, floor, latency, province, stages
from services.claims import handlers, views
from services.claims.intake import Intake
from services.claims.unit_of_work import ClaimsUnitOfWork
from services.common.blobstore import FilesystemBlobStore
from services.common.db import make_engine, transaction
from services.common.migrate import upgrade
from services.devtools import claims_generator as generator


def _file(tmp_path: Path, records: int) -> Path:
    path = tmp_path / "claims.xml"
    with open(path, "wb") as fh:
        generator.generate(fh, facility="91060", records=records, year=2024, months=[1, 2, 3], seed=3,
                           faults={"amount_mismatch": 2, "duplicate_claim": 1, "card_format": 1})
    return path


def _registered(tmp_path: Path, path: Path, name: str) -> tuple[Engine, sessionmaker, FilesystemBlobStore, int]:
    """A fresh claims database `name` on SQLite with `path` stored and registered, as the gateway registers it."""
    url = f"sqlite:///{tmp_path}/{name}.db"
    upgrade("claims", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    store = FilesystemBlobStore(tmp_path / name)
    with open(path, "rb") as fh:
        blob = store.put(fh)
    with ClaimsUnitOfWork(factory) as uow:
        data = {"sha256": blob.sha256, "size": blob.size, "blob_name": blob.name, "uploaded_by": "test"}
        file_id = handlers.register_file(uow, data)["id"]
    return engine, factory, store, file_id


def test_floor_reads_every_record_the_system_counts(tmp_path: Path) -> None:
    path = _file(tmp_path, 40)
    bare = floor.run(path, f"sqlite:///{tmp_path}/floor.db")
    assert bare["records"] == bare["stored"] == 40
    assert bare["lines"] > 40  # XML2 and XML3 were parsed, not skipped

    engine, factory, store, file_id = _registered(tmp_path, path, "claims")
    assert Intake(factory, store, batch_size=7).process(file_id) == "done"
    with transaction(factory) as s:
        status = views.file_status(s, file_id, limit=0)
    engine.dispose()
    assert status["records"]["total"] == bare["records"]
    assert status["records"]["accepted"] + status["records"]["rejected"] == bare["records"]


def _intake_run(tmp_path: Path, path: Path, name: str, decoded: bool) -> tuple[list, list, dict]:
    engine, factory, store, file_id = _registered(tmp_path, path, name)
    intake = Intake(factory, store, batch_size=7)
    extra = claims_intake._decode_beforehand(intake, str(path), factory) if decoded else {}
    assert intake.process(file_id) == "done"
    with engine.connect() as conn:
        claims = conn.execute(text(
            "SELECT c.record_index, c.ma_lk, c.status, c.t_bhtt, count(l.id) FROM claims c "
            "LEFT JOIN claim_lines l ON l.claim_id = c.id GROUP BY c.id ORDER BY c.record_index"
        )).all()
        issues = conn.execute(text(
            "SELECT record_index, code, field, message FROM claim_issues ORDER BY record_index, id"
        )).all()
    engine.dispose()
    return claims, issues, extra


def test_the_bound_runs_the_same_intake_on_results_decoded_beforehand(tmp_path: Path) -> None:
    # bench.intake --bound: the intake with decode and validate done before the clock must store exactly what
    # the intake stores, or its time would not be the intake's time less typing and rules.
    path = _file(tmp_path, 40)
    claims, issues, _ = _intake_run(tmp_path, path, "plain", decoded=False)
    bound_claims, bound_issues, extra = _intake_run(tmp_path, path, "bound", decoded=True)
    assert len(claims) == 40 and any(c.status != "accepted" for c in claims) and issues
    assert bound_claims == claims and bound_issues == issues
    assert extra["parse_cpu_s"] >= 0


def test_stages_measures_every_stage_of_this_checkout(tmp_path: Path) -> None:
    # Its stages call the decoder's own functions: a renamed or re-shaped one must show here, not in a bench run.
    out = stages.measure(_file(tmp_path, 20), 20)
    names = ("check_pass", "envelope_base64", "parse_tables", "parse_and_read_elements", "type_and_build",
             "decode_record", "validate")
    assert set(out) == set(names)
    assert all(out[name] > 0 for name in names), out


class FakeApi:
    """Counts the loader's POSTs by path shape and answers like the gateway would."""

    def __init__(self) -> None:
        self.posts: dict[str, int] = {}
        self.next_id = 0

    def post(self, path: str, body: dict) -> dict:
        kind = "/".join(p if not p.isdigit() else "{id}" for p in path.split("/"))
        self.posts[kind] = self.posts.get(kind, 0) + 1
        self.next_id += 1
        return {"id": self.next_id}


def test_loader_builds_the_stated_volume_on_a_tiny_scale() -> None:
    from concurrent.futures import ThreadPoolExecutor

    scale = province.Scale(years=(2023, 2024), items=("II.5", "III"), station_items=("II.5",),
                           sources=("provincial_budget",), districts=2, stations_per_district=3, projects=4)
    api, loaded = FakeApi(), province.Loaded()
    with ThreadPoolExecutor(2) as pool:
        province.load_finance(api, scale, loaded, pool)  # type: ignore[arg-type]
        province.load_investment(api, scale, loaded, pool)  # type: ignore[arg-type]
    roots = 2 * 2 * 1  # years × items × sources
    district_allocs = roots * 2
    station_allocs = 2 * 1 * 1 * 2 * 3  # years × station items × sources × districts × stations
    assert loaded.allocations == api.posts["/api/v1/allocations"] == roots + district_allocs + station_allocs
    assert loaded.disbursements == district_allocs + station_allocs
    assert loaded.adjustments == district_allocs
    assert loaded.projects == api.posts["/api/v1/investment/projects"] == 4
    assert loaded.capital == api.posts["/api/v1/investment/projects/{id}/capital"] == 4 * 2


def test_full_scale_is_the_province_of_the_issue() -> None:
    stations = province._stations(province.Scale())  # noqa: SLF001
    assert len(stations) == 15 and sum(len(v) for v in stations.values()) == 145
    assert province.Scale().years == (2020, 2021, 2022, 2023, 2024)


def test_percentile_and_loopback_guard() -> None:
    values = [i / 1000 for i in range(1, 101)]
    assert latency.percentile(values, 50) == 0.05
    assert latency.percentile(values, 99) == 0.099
    try:
        latency.load_loop("http://example.org/", {}, "t", concurrency=1, seconds=0.1, max_requests=1)
    except ValueError:
        pass
    else:
        raise AssertionError("a non-loopback URL must be refused")


def test_bench_main_lists_every_benchmark(capsys) -> None:
    from bench.__main__ import SUITES, main

    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in SUITES:
        assert name in out


def _samples(rss: list[float], queues: list[int], pids: list[list[int]] | None = None, every: float = 10.0):
    from bench.soak import Sample

    pids = pids or [[100]] * len(rss)
    return [
        Sample(t=k * every, rss_mib={"claims": r}, pids={"claims": p}, queues={"q": d}, outbox={"claims": 0})
        for k, (r, d, p) in enumerate(zip(rss, queues, pids, strict=True))
    ]


def test_soak_verdict_sees_growth_and_forgives_noise() -> None:
    from bench.soak import Limits, verdict

    limits = Limits(warmup_s=30, rss_limit_mib=30, rss_limit_pct=15, queue_limit=50)
    # Warm-up growth is not judged; after it, noise and one spike around a flat level pass.
    flat = [80, 120, 150, 160, 161, 159, 240, 160, 162, 158, 161, 160, 159]
    failures, figures = verdict(_samples(flat, [3] * len(flat)), limits)
    assert failures == [] and figures["memory"]["claims"]["first_mib"] == 160
    # A steady leak of 10 MiB a sample is named with the process.
    leak = [160 + 10 * k for k in range(13)]
    failures, _ = verdict(_samples(leak, [0] * 13), limits)
    assert len(failures) == 1 and failures[0].startswith("memory of claims grew")
    # A queue nobody drains.
    failures, _ = verdict(_samples([160] * 13, [20 * k for k in range(13)]), limits)
    assert failures == ["queue depth grew from 80 to 220 messages"]
    # A process that died and came back under a new pid.
    failures, _ = verdict(_samples([160] * 13, [0] * 13, [[100]] * 6 + [[101]] * 7), limits)
    assert failures == ["claims: 1 process(es) restarted"]
    # Too short a run is a failure, not a pass.
    failures, _ = verdict(_samples([160] * 5, [0] * 5), limits)
    assert failures and failures[0].startswith("too few samples")


def test_soak_reads_roles_and_queue_lines() -> None:
    from bench.soak import parse_queue_lines, role_of

    py = "/work/.venv/bin/python"
    assert role_of([py, "-m", "services.common.runner", "claims"], [py, "-m", "services.cli", "run"]) == "claims"
    gunicorn = [py, "-m", "gunicorn", "-c", "services/gateway/gunicorn_conf.py"]
    assert role_of(gunicorn, [py, "-m", "services.cli", "run"]) == "gunicorn master"
    assert role_of(gunicorn, gunicorn) == "gunicorn worker"
    assert role_of([py, "-m", "services.cli", "run"], ["bash"]) == "supervisor"
    text = "claims.events\t12\nevt-finance--capitation_spend_reported\t0\nWarning: not a queue line\n"
    assert parse_queue_lines(text) == {"claims.events": 12, "evt-finance--capitation_spend_reported": 0}


def test_the_project_payment_bench_records_its_statement_once(tmp_path: Path) -> None:
    from bench import project_payments

    first, again = project_payments.run(f"sqlite:///{tmp_path / 'investment.db'}", 120, 10)
    assert (first["recorded"], again["already"], first["projects"]) == (120, 120, 10)
    paid = project_payments.payments(list(range(1, 11)), 120)
    assert len({(p["project_id"], p["source"], p["reference"]) for p in paid}) == 120  # none alike to another
    assert {p["source"] for p in paid} == set(project_payments.SOURCES)


def test_the_import_bench_records_its_sheets_once(tmp_path: Path) -> None:
    from bench import allocation_import

    rows = allocation_import.sheet(300)
    assert len({(r["item_code"], r["recipient_unit"], r["decision_no"]) for r in rows}) == 300  # no two alike
    first, again, paid, paid_again, due, plain = allocation_import.run(f"sqlite:///{tmp_path / 'finance.db'}", 300)
    assert (first["recorded"], again["already"]) == (300, 300)
    assert (paid["sheet"], paid["recorded"], paid_again["already"]) == ("disbursements", 300, 300)
    # The reads count every allocation: all of 2020, each still holding money (run refuses otherwise).
    assert (due["read"], due["allocations"], plain["read"]) == ("year_end_due", 300, "plain_page")
    # Each payment its own voucher: none of them alike to another.
    assert len({(p["allocation_id"], p["reference"]) for p in allocation_import.payments([1, 2], 300)}) == 300
