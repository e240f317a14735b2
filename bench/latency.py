"""p50/p99 latency of the funding and reconciliation reads on a loaded province, at a steady load on loopback.

    .venv/bin/python -m bench.province --var bench/out/province          # once: build the data
    .venv/bin/python -m bench.latency --var bench/out/province --workers 1,4

For each gunicorn worker count (`YTCS_WEB_WORKERS`; `YTCS_WEB_THREADS` stays 8) the system is started on the
loaded data folder, warmed up, and each endpoint gets a closed-loop load: `--concurrency` client threads, each
with its own keep-alive connection, sending the next request as soon as the previous answer is read, for
`--seconds` or `--max-requests`, whichever comes first (bounded in count and time; 127.0.0.1 only). Latency
is measured per request on the client (`time.perf_counter`), so it includes HTTP, the gateway's RPC fan-out
over RabbitMQ and the services' SQL. Every answer must be 200 and not partial.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

# (name, path, params); the facility and quarter are the loader's first facility's, which is assessed.
ENDPOINTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("item II.5 (funding of one item)", "/api/v1/plans/1/items/II.5/funding", {"year": "2024"}),
    ("item II (with the BHYT block)", "/api/v1/plans/1/items/II/funding", {"year": "2024"}),
    ("plan tree 158/KH-UBND", "/api/v1/plans/1/funding", {"year": "2024"}),
    ("reconciliation facility-quarter", "/api/v1/reconciliation", {"facility": "{facility}", "period": "2024-Q1"}),
)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def load_loop(url: str, params: dict[str, str], token: str, *, concurrency: int, seconds: float,
              max_requests: int) -> dict[str, Any]:
    """Closed loop: `concurrency` threads until `seconds` pass or `max_requests` are sent."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("loopback only")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    sent = [0]
    deadline = time.monotonic() + seconds

    def worker() -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
            started = time.perf_counter()
            try:
                r = session.get(url, params=params, headers=headers, timeout=30)
                elapsed = time.perf_counter() - started
                ok = r.status_code == 200 and not r.json().get("partial", False)
                problem = None if ok else f"{r.status_code} {r.text[:200]}"
            except requests.RequestException as exc:
                elapsed, problem = time.perf_counter() - started, str(exc)
            with lock:
                latencies.append(elapsed)
                if problem:
                    errors.append(problem)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "per_s": round(len(ordered) / wall, 1) if wall else None,
        "p50_ms": round(percentile(ordered, 50) * 1000, 1),
        "p99_ms": round(percentile(ordered, 99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
    }


def run(var: Path, workers: int, *, concurrency: int, seconds: float, max_requests: int, amqp: str,
        db_urls: dict[str, str] | None = None) -> list[dict[str, Any]]:
    from tests.support.infra import Stack

    loaded = json.loads((var / "loaded.json").read_text())
    facility = loaded["loaded"]["facilities"][0]
    stack = Stack(var, amqp, db_urls)
    stack.env["YTCS_WEB_WORKERS"] = str(workers)
    stack.start()
    rows = []
    try:
        token = stack.token("viewer")
        for name, path, raw_params in ENDPOINTS:
            params = {k: v.format(facility=facility) for k, v in raw_params.items()}
            url = stack.url + path
            load_loop(url, params, token, concurrency=concurrency, seconds=3, max_requests=50)  # warm-up
            load_average = os.getloadavg()
            result = load_loop(url, params, token, concurrency=concurrency, seconds=seconds,
                               max_requests=max_requests)
            rows.append({"endpoint": name, "path": path, "params": params, "workers": workers,
                         "concurrency": concurrency, "load_average": [round(x, 2) for x in load_average], **result})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    finally:
        stack.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    p.add_argument("--var", required=True, help="a data folder built by bench.province")
    p.add_argument("--workers", default="1,4")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--max-requests", type=int, default=5000)
    args = p.parse_args(argv)
    from tests.support.infra import rabbit_vhost

    for workers in (int(w) for w in args.workers.split(",")):
        with rabbit_vhost() as amqp:
            run(Path(args.var), workers, concurrency=args.concurrency, seconds=args.seconds,
                max_requests=args.max_requests, amqp=amqp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
