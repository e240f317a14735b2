"""One large claim file loaded by 1, 2 and 4 claims replicas at once: its chunks shared out on RabbitMQ.

    .venv/bin/python -m bench.chunked --replicas 1,2,4 --records 100000            # PostgreSQL (the default)
    .venv/bin/python -m bench.chunked --replicas 1,2 --records 20000 --chunk 2000

The file is generated once (services/devtools/claims_generator.py, the planted faults of bench/claims_intake.py).
For each replica count a fresh `ytcs run` (`YTCS_CLAIMS_REPLICAS=N`, `YTCS_CLAIMS_CHUNK_RECORDS`) on a fresh
PostgreSQL claims database takes the file through `POST /api/v1/claims/files`; the clock runs from the upload's
answer (the bytes are stored) to the file `done`. The replica that takes `file_received` checks the file and cuts
it into chunks; every replica loads chunks (`file_chunk_ready`). Which process loaded which chunk is read from the
log (`chunk N ... loaded by host:pid:…`). One JSON line per replica count, with the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench import claims_intake


def run(path: Path, replicas: int, chunk: int, postgres: bool) -> dict[str, Any]:
    from tests.support.infra import Stack, rabbit_vhost

    with contextlib.ExitStack() as es:
        work = es.enter_context(tempfile.TemporaryDirectory(prefix="ytcs-bench-chunked-"))
        amqp = es.enter_context(rabbit_vhost())
        dbs = {"claims": es.enter_context(claims_intake.fresh_pg())} if postgres else None
        stack = Stack(Path(work), amqp, dbs)
        stack.env.update(YTCS_CLAIMS_REPLICAS=str(replicas), YTCS_CLAIMS_CHUNK_RECORDS=str(chunk))
        stack.start(timeout=180)
        try:
            headers = {"Authorization": f"Bearer {stack.token('bhxh')}"}
            load_before = os.getloadavg()
            started = time.perf_counter()
            with open(path, "rb") as fh:
                r = requests.post(stack.url + "/api/v1/claims/files", data=fh, timeout=900,
                                  headers={**headers, "Content-Type": "application/xml"})
            r.raise_for_status()
            uploaded = time.perf_counter()
            file_id = r.json()["id"]
            while True:
                r = requests.get(stack.url + f"/api/v1/claims/files/{file_id}", headers=headers,
                                 params={"errors_limit": 0}, timeout=60)
                # A busy claims process may answer after the gateway's RPC deadline (503): ask again.
                st = r.json() if r.status_code == 200 else {"status": "processing"}
                if st["status"] != "processing":
                    break
                time.sleep(0.5)
            done = time.perf_counter()
            load_after = os.getloadavg()
            log = stack.log.read_text(errors="replace")
        finally:
            stack.stop()
    by_pid: dict[str, int] = {}
    for pid in re.findall(rf"claims file {file_id} chunk \d+ \(records [^)]*\) loaded by [^:]+:(\d+):", log):
        by_pid[pid] = by_pid.get(pid, 0) + 1
    seconds = done - uploaded
    return {
        "replicas": replicas,
        "records": st["records"]["total"],
        "accepted": st["records"]["accepted"],
        "status": st["status"],
        "db": "postgresql" if postgres else "sqlite",
        "chunk_records": chunk,
        "upload_s": round(uploaded - started, 1),
        "stored_to_done_s": round(seconds, 1),
        "claims_per_s": round(st["records"]["total"] / seconds),
        "chunks_per_process": sorted(by_pid.values(), reverse=True),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "cores": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.chunked", description=__doc__.splitlines()[0])
    p.add_argument("--replicas", default="1,2,4")
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--chunk", type=int, default=5000, help="records per chunk (YTCS_CLAIMS_CHUNK_RECORDS)")
    p.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    p.add_argument("--file", help="generate the file here, or use the one already there (kept)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ytcs-bench-chunked-file-") as files:
        path = Path(args.file or Path(files) / "claims.xml")
        if not path.exists():
            made = claims_intake.generate(path, args.records, seed=7)
            print(json.dumps({"file": made}), flush=True)
        base = None
        for replicas in (int(r) for r in args.replicas.split(",")):
            row = run(path, replicas, args.chunk, args.db == "postgres")
            base = base or row["claims_per_s"]
            row["speed_up"] = round(row["claims_per_s"] / base, 2)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
