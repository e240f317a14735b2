"""Cheap checks that the benchmark code still measures what docs/benchmarks.md says (no timing here)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import sessionmaker

from bench import floor, latency, province
from services.claims import generator, ledger, queries
from services.claims.intake import Intake
from services.claims.storage import BlobStore
from services.common.db import make_engine, transaction
from services.common.migrate import upgrade


def _file(tmp_path: Path, records: int) -> Path:
    path = tmp_path / "claims.xml"
    with open(path, "wb") as fh:
        generator.generate(fh, facility="91060", records=records, year=2024, months=[1, 2, 3], seed=3,
                           faults={"amount_mismatch": 2, "duplicate_claim": 1, "card_format": 1})
    return path


def test_floor_reads_every_record_the_system_counts(tmp_path: Path) -> None:
    path = _file(tmp_path, 40)
    bare = floor.run(path, f"sqlite:///{tmp_path}/floor.db")
    assert bare["records"] == bare["stored"] == 40
    assert bare["lines"] > 40  # XML2 and XML3 were parsed, not skipped

    url = f"sqlite:///{tmp_path}/claims.db"
    upgrade("claims", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    store = BlobStore(tmp_path / "blobs")
    with open(path, "rb") as fh:
        blob = store.put(fh)
    with transaction(factory) as s:
        file_id = ledger.register_file(s, blob.sha256, blob.size, blob.name, "test")["id"]
    assert Intake(factory, store, batch_size=7).process(file_id) == "done"
    with transaction(factory) as s:
        status = queries.file_status(s, file_id, limit=0)
    engine.dispose()
    assert status["records"]["total"] == bare["records"]
    assert status["records"]["accepted"] + status["records"]["rejected"] == bare["records"]


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
