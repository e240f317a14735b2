"""Scale-out: 1, 2 and 4 replicas of the claims service as competing consumers on one set of files.

    .venv/bin/python -m bench.scaleout --replicas 1,2,4 --files 4 --records 10000 [--postgres]

The files (one per facility, generated once) are uploaded back to back to `POST /api/v1/claims/files` of a
fresh `ytcs run` with `YTCS_CLAIMS_REPLICAS=N`; the clock runs from the first upload to the last file done.
Each `file_received` goes to one replica (RabbitMQ shares the queue's messages out among its consumers) and
the file's lease keeps every other replica off it. Which replica did what is read from the file rows'
lease owners in the log (`claims file N: done` lines per pid).
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
from bench.province import facilities


def run(paths: list[Path], replicas: int, postgres: bool) -> dict[str, Any]:
    from tests.support.infra import Stack, rabbit_vhost

    with contextlib.ExitStack() as es:
        work = es.enter_context(tempfile.TemporaryDirectory(prefix="ytcs-bench-scale-"))
        amqp = es.enter_context(rabbit_vhost())
        dbs = {"claims": es.enter_context(claims_intake.fresh_pg())} if postgres else None
        stack = Stack(Path(work), amqp, dbs)
        stack.env["YTCS_CLAIMS_REPLICAS"] = str(replicas)
        stack.start()
        try:
            token = stack.token("bhxh")
            headers = {"Authorization": f"Bearer {token}"}
            load_before = os.getloadavg()
            started = time.perf_counter()
            ids = []
            for path in paths:
                with open(path, "rb") as fh:
                    r = requests.post(stack.url + "/api/v1/claims/files", data=fh, timeout=600,
                                      headers={**headers, "Content-Type": "application/xml"})
                r.raise_for_status()
                ids.append(r.json()["id"])
            uploaded = time.perf_counter() - started
            records = 0
            for file_id in ids:
                while True:
                    st = requests.get(stack.url + f"/api/v1/claims/files/{file_id}", headers=headers,
                                      params={"errors_limit": 0}, timeout=60).json()
                    if st["status"] != "processing":
                        break
                    time.sleep(0.5)
                records += st["records"]["total"]
            seconds = time.perf_counter() - started
            log = stack.log.read_text()
            pids = re.findall(r"started claims(?:#\d+)? \(pid (\d+)\)", log)
        finally:
            stack.stop()
    return {
        "replicas": replicas,
        "files": len(paths),
        "records": records,
        "db": "postgresql" if postgres else "sqlite",
        "upload_s": round(uploaded, 1),
        "upload_to_all_done_s": round(seconds, 1),
        "claims_per_s": round(records / seconds),
        "claims_processes": len(set(pids)),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.splitlines()[0])
    p.add_argument("--replicas", default="1,2,4")
    p.add_argument("--files", type=int, default=4)
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--postgres", action="store_true")
    args = p.parse_args(argv)
    from services.devtools import claims_generator as generator

    with tempfile.TemporaryDirectory(prefix="ytcs-bench-scale-files-") as files:
        paths = []
        for n, facility in enumerate(facilities(args.files)):
            path = Path(files) / f"{facility}.xml"
            with open(path, "wb") as fh:
                generator.generate(fh, facility=facility, records=args.records, year=2024, months=[1, 2, 3],
                                   seed=n, faults=claims_intake.FAULTS)
            paths.append(path)
        base = None
        for replicas in (int(r) for r in args.replicas.split(",")):
            row = run(paths, replicas, args.postgres)
            base = base or row["claims_per_s"]
            row["speed_up"] = round(row["claims_per_s"] / base, 2)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
