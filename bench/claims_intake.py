"""Claims intake benchmark: time and peak memory (RSS) of processing generated QĐ 130 files.

    .venv/bin/python -m bench.claims_intake                          # 10,000 and 100,000 records, in-process
    .venv/bin/python -m bench.claims_intake --sizes 100000 --mode stack   # through `ytcs run` (needs RabbitMQ)
    .venv/bin/python -m bench.claims_intake --postgres               # on a fresh PostgreSQL database

`inprocess`: each file is processed by the intake pipeline in a fresh child process (the code the claims
service runs for `file_received`), on a fresh database; the child reports its peak RSS (`ru_maxrss`).
`stack`: the whole system is started in a temporary folder, the file is uploaded through the gateway
(streamed) and the claims service process's own peak RSS (`VmHWM` in /proc) is read when it is done.
Constant memory shows as the same peak for 10× more records.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FAULTS = {"amount_mismatch": 20, "duplicate_claim": 10, "card_format": 10, "icd10_invalid": 10}


def generate(path: Path, records: int, seed: int) -> dict:
    from services.devtools import claims_generator as generator

    started = time.perf_counter()
    with open(path, "wb") as fh:
        summary = generator.generate(
            fh, facility="91060", records=records, year=2024, months=[1, 2, 3], seed=seed, faults=FAULTS
        )
    return {
        "records": records,
        "accepted": summary.accepted,
        "t_bhtt": str(summary.t_bhtt),
        "bytes": path.stat().st_size,
        "generate_s": round(time.perf_counter() - started, 1),
    }


def collect_as_the_worker() -> None:
    """The garbage collector as the intake worker sets it (services/claims/worker.py); a checkout older than that
    keeps the defaults, as its worker did."""
    try:
        from services.claims.worker import collect_for_throughput
    except ImportError:
        return
    collect_for_throughput()


def _decode_beforehand(intake: Any, path: str, factory: Any) -> dict[str, float]:
    """Decode and validate every record as the intake would (its own `_prepare`, the same context), before the
    clock starts, and make the intake take those results instead: what it then spends is everything else (the
    check pass, the envelope and base64, the writes and the bookkeeping). libxml2's parse of every table, which
    any reader of every field pays, is timed apart. Their sum is the least this intake could spend were typing
    and every rule free."""
    from services.claims.parsing import open_claim_file
    from services.claims.parsing.safexml import read_document
    from services.claims.unit_of_work import ClaimsUnitOfWork
    from services.claims.validation import ValidationContext

    with ClaimsUnitOfWork(factory) as uow:
        stations = uow.repo.commune_station_facilities()
    prepared: dict[int, Any] = {}
    parse_cpu = 0.0
    with open(path, "rb") as fh:
        reader = open_claim_file(fh)
        ctx = ValidationContext(envelope_facility=reader.header.facility,
                                commune_station=reader.header.facility in stations)
        for raw in reader:
            started = time.process_time()
            for data in raw.tables.values():
                read_document(data)
            parse_cpu += time.process_time() - started
            prepared[raw.index] = intake._prepare(raw, raw.index, reader.header, ctx)
    intake._prepare = lambda raw, index, header, ctx: prepared[index]
    return {"parse_cpu_s": round(parse_cpu, 2)}


def child(path: str, db_url: str | None, workdir: str, decoded: bool = False) -> None:
    """Runs in its own process: migrate, set up as the intake worker is (its collector), store, register,
    process; print one JSON line. `decoded`: records decoded and validated beforehand (`_decode_beforehand`)."""
    from sqlalchemy.orm import sessionmaker

    from services.claims import handlers, views
    from services.claims.intake import Intake
    from services.claims.unit_of_work import ClaimsUnitOfWork
    from services.common.blobstore import FilesystemBlobStore
    from services.common.db import make_engine, transaction
    from services.common.migrate import upgrade

    url = db_url or f"sqlite:///{workdir}/claims.db"
    upgrade("claims", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    store = FilesystemBlobStore(Path(workdir) / "blobs")
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    collect_as_the_worker()
    started = time.perf_counter()
    with open(path, "rb") as fh:
        blob = store.put(fh)
    stored = time.perf_counter() - started
    with ClaimsUnitOfWork(factory) as uow:
        data = {"sha256": blob.sha256, "size": blob.size, "blob_name": blob.name, "uploaded_by": "bench"}
        reg = handlers.register_file(uow, data)
    intake = Intake(factory, store)
    beforehand: dict[str, float] = {}
    if decoded:
        beforehand = _decode_beforehand(intake, path, factory)
        gc.freeze()  # the results held are the bench's, not the intake's: its collector should not scan them
    started, cpu = time.perf_counter(), time.process_time()
    outcome = intake.process(reg["id"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with transaction(factory) as s:
        status = views.file_status(s, reg["id"], limit=0)
    engine.dispose()
    print(
        json.dumps(
            {
                "outcome": outcome,
                "store_s": round(stored, 1),
                "process_s": round(seconds, 2),
                "cpu_s": round(cpu, 2),  # this process only: PostgreSQL's backend works on top of it
                "records_per_s": round(status["records"]["processed"] / seconds),
                "accepted": status["records"]["accepted"],
                "rejected": status["records"]["rejected"],
                "rss_after_imports_mb": round(baseline / 1024, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                **beforehand,
            }
        )
    )


def inprocess(path: Path, db_url: str | None, code: Path = ROOT, decoded: bool = False) -> dict:
    """Process `path` in a fresh child. `code`: the checkout whose services/ the child imports (another commit's
    worktree for a before/after in one run); this harness file is run as a script so it is the same for both."""
    with tempfile.TemporaryDirectory(prefix="ytcs-bench-") as work:
        # `-c` puts `code` (the cwd) first on sys.path, so `services` is that checkout's; runpy runs this file.
        run_self = f"import runpy; runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"
        cmd = [sys.executable, "-c", run_self, "--child", str(path), "--workdir", work]
        if db_url:
            cmd += ["--child-db", db_url]
        if decoded:
            cmd.append("--child-decoded")
        env = {**os.environ, "PYTHONPATH": str(code)}
        out = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True, check=True)  # noqa: S603
        return json.loads(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def fresh_pg():
    """A fresh database on the PostgreSQL server of the tests (`YTCS_TEST_PG`), dropped afterwards."""
    from tests.support.infra import pg_database

    with pg_database("ytcs_bench") as url:
        yield url


def _status_kb(pid: int, key: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1))


def through_stack(path: Path, postgres: bool = False) -> dict:
    import requests

    from tests.support.infra import Stack, rabbit_vhost

    with contextlib.ExitStack() as es:
        work = es.enter_context(tempfile.TemporaryDirectory(prefix="ytcs-bench-stack-"))
        amqp = es.enter_context(rabbit_vhost())
        # Only the claims database matters here; the others stay SQLite.
        dbs = {"claims": es.enter_context(fresh_pg())} if postgres else None
        stack = Stack(Path(work), amqp, dbs)
        stack.start()
        try:
            pid = int(re.findall(r"started claims \(pid (\d+)\)", stack.log.read_text())[-1])
            token = stack.token("bhxh")
            rss_idle = _status_kb(pid, "VmRSS")
            started = time.perf_counter()
            with open(path, "rb") as fh:
                r = requests.post(
                    stack.url + "/api/v1/claims/files",
                    data=fh,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
                    timeout=600,
                )
            r.raise_for_status()
            uploaded = time.perf_counter() - started
            file_id = r.json()["id"]
            samples = []
            while True:
                st = requests.get(
                    stack.url + f"/api/v1/claims/files/{file_id}",
                    headers={"Authorization": f"Bearer {token}"},
                    params={"errors_limit": 0},
                    timeout=60,
                ).json()
                samples.append((st["records"]["processed"], _status_kb(pid, "VmRSS")))
                if st["status"] != "processing":
                    break
                time.sleep(2)
            total = time.perf_counter() - started
            return {
                "outcome": st["status"],
                "upload_s": round(uploaded, 1),
                "upload_to_done_s": round(total, 1),
                "accepted": st["records"]["accepted"],
                "rejected": st["records"]["rejected"],
                "claims_rss_idle_mb": round(rss_idle / 1024, 1),
                "claims_peak_rss_mb": round(_status_kb(pid, "VmHWM") / 1024, 1),
                "rss_mb_at_processed": [(n, round(kb / 1024)) for n, kb in samples[:: max(1, len(samples) // 8)]],
            }
        finally:
            stack.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.claims_intake", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000", help="record counts, comma-separated")
    p.add_argument("--mode", choices=("inprocess", "stack", "both"), default="inprocess")
    p.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database per run (default: SQLite)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-db", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    p.add_argument("--child-decoded", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.child_db, args.workdir, args.child_decoded)
        return 0
    with tempfile.TemporaryDirectory(prefix="ytcs-bench-files-") as files:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(files) / f"claims-{size}.xml"
            row: dict = {"file": generate(path, size, args.seed)}
            if args.mode in ("inprocess", "both"):
                if args.postgres:
                    with fresh_pg() as url:
                        row["inprocess"] = inprocess(path, url)
                else:
                    row["inprocess"] = inprocess(path, None)
            if args.mode in ("stack", "both"):
                row["stack"] = through_stack(path)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
