"""Soak: minutes of claim files, allocations and queries mixed against one running system.

    .venv/bin/python -m bench.soak --minutes 5              # SQLite databases
    .venv/bin/python -m bench.soak --minutes 5 --postgres   # a PostgreSQL database per service

A fresh `ytcs run` (its own data folder, free ports, its own RabbitMQ vhost; loopback only) gets three kinds of
closed-loop work at once, for `--minutes`:

- claims: a generated file (`--records`, with named faults) for a facility of its own is uploaded, followed
  until done, and checked against what the generator says it holds (records, accepted; count and amount in
  the facility-quarter's reconciliation);
- finance: an allocation to item III of plan 158/KH-UBND and a disbursement of part of it, over and over;
  at the end the item's funding must have grown by exactly the sums sent (every đồng once);
- queries: `--readers` threads reading item funding, the plan tree, a reconciliation and the claims list.

Every `--every` seconds it samples the resident memory of every process of the stack (by role: supervisor,
finance, claims, investment, gunicorn master, gunicorn workers), the depth of every queue of the vhost
(`rabbitmqctl list_queues`) and each service's outbox backlog (its `/metrics`). After the load stops the
queues and outboxes must drain to zero. The run fails (exit 1) on any error answer or failed check, a process
restart, memory growth beyond `--rss-limit-mib` and `--rss-limit-pct` between the first and the last third
of the samples after `--warmup`, or queue depth that grows the same way beyond `--queue-limit`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.latency import percentile

MIB = 1024 * 1024
ITEM = "III"  # a leaf of plan 158/KH-UBND no other stream touches, so its funding is the soak's own sums
YEAR = 2025
SERVICES = ("finance", "claims", "investment")


# ---- what is sampled ---------------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float  # seconds since the load started
    rss_mib: dict[str, float]  # role -> resident memory, summed over the role's processes
    pids: dict[str, list[int]]
    queues: dict[str, int]  # queue -> messages (ready + unacknowledged)
    outbox: dict[str, int]  # service -> rows not yet published

    def as_json(self) -> dict[str, Any]:
        return {"t": round(self.t, 1), "rss_mib": {k: round(v, 1) for k, v in self.rss_mib.items()},
                "queues": self.queues, "outbox": self.outbox}


def role_of(cmdline: list[str], parent_cmdline: list[str]) -> str:
    """The part a process of `ytcs run` plays, from its command line (and its parent's, for gunicorn)."""
    joined = " ".join(cmdline)
    if "services.common.runner" in joined:
        return cmdline[-1]  # the service name
    if "gunicorn" in joined:
        return "gunicorn worker" if "gunicorn" in " ".join(parent_cmdline) else "gunicorn master"
    if "services.cli" in joined or joined.endswith("ytcs run"):
        return "supervisor"
    return "other"


def processes(root_pid: int) -> dict[str, list[Any]]:
    import psutil

    root = psutil.Process(root_pid)
    out: dict[str, list[Any]] = defaultdict(list)
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            parent = proc.parent()
            out[role_of(proc.cmdline(), parent.cmdline() if parent else [])].append(proc)
    return out


def queue_depths(vhost: str) -> dict[str, int]:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        raise RuntimeError("rabbitmqctl is missing: the soak reads queue depths with it")
    out = subprocess.run(  # noqa: S603 - fixed argv
        [ctl, "list_queues", "-p", vhost, "-q", "--no-table-headers", "name", "messages"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    return parse_queue_lines(out)


def parse_queue_lines(text: str) -> dict[str, int]:
    depths = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths


def outbox_backlog(port: str) -> int:
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == "ytcs_outbox_backlog":
            return int(max((s.value for s in family.samples), default=0))
    return 0


# ---- the verdict (pure, unit-tested in tests/unit/test_bench.py) -------------------------------------------


@dataclass
class Limits:
    warmup_s: float = 60.0
    rss_limit_mib: float = 30.0
    rss_limit_pct: float = 15.0
    queue_limit: int = 50


def thirds(values: list[float]) -> tuple[float, float]:
    """Median of the first and of the last third: a trend that a single spike does not fake."""
    n = max(1, len(values) // 3)
    return statistics.median(values[:n]), statistics.median(values[-n:])


def verdict(samples: list[Sample], limits: Limits) -> tuple[list[str], dict[str, Any]]:
    """Failures (empty when the run is clean) and the figures they were judged on."""
    failures: list[str] = []
    judged = [s for s in samples if s.t >= limits.warmup_s]
    figures: dict[str, Any] = {"samples": len(samples), "judged": len(judged), "memory": {}, "queues": {}}
    if len(judged) < 6:
        return [f"too few samples after the warm-up to judge a trend ({len(judged)} < 6)"], figures
    for role in sorted(judged[0].rss_mib):
        series = [s.rss_mib.get(role, 0.0) for s in judged]
        first, last = thirds(series)
        allowed = max(limits.rss_limit_mib, first * limits.rss_limit_pct / 100)
        figures["memory"][role] = {"first_mib": round(first, 1), "last_mib": round(last, 1),
                                   "growth_mib": round(last - first, 1), "max_mib": round(max(series), 1)}
        if last - first > allowed:
            failures.append(f"memory of {role} grew {last - first:.1f} MiB ({first:.1f} → {last:.1f}), "
                            f"more than {allowed:.1f} MiB")
    depth = [float(sum(s.queues.values())) for s in judged]
    first, last = thirds(depth)
    figures["queues"] = {"first": first, "last": last, "max": max(depth)}
    if last - first > limits.queue_limit:
        failures.append(f"queue depth grew from {first:.0f} to {last:.0f} messages")
    for role in judged[0].pids:
        seen = {pid for s in samples for pid in s.pids.get(role, [])}
        if len(seen) > len(samples[0].pids.get(role, [])):
            failures.append(f"{role}: {len(seen) - len(samples[0].pids[role])} process(es) restarted")
    return failures, figures


# ---- the load ------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    allocated: int = 0
    disbursed: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)

    def took(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, what: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 20:
                self.errors.append(what[:500])


class Client:
    def __init__(self, base: str, token: str, tally: Tally) -> None:
        if not base.startswith("http://127.0.0.1:"):
            raise ValueError("loopback only")
        self.base, self.tally = base, tally
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, kind: str, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            r = self.session.request(method, self.base + path, timeout=120, **kw)
        except requests.RequestException as exc:
            self.tally.error(f"{kind}: {exc}")
            return None
        self.tally.took(kind, time.perf_counter() - started)
        if r.status_code != expect:
            self.tally.error(f"{kind}: HTTP {r.status_code} {r.text[:300]}")
            return None
        body = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else r.content
        if isinstance(body, dict) and body.get("partial"):
            self.tally.error(f"{kind}: partial answer {body.get('parts')}")
        return body


def claims_loop(c: Client, stop: threading.Event, records: int, seed: int) -> None:
    from services.devtools import claims_generator as generator

    n = 0
    while not stop.is_set() and n < 2_000:
        facility = f"9{2_000 * (seed + 1) + n:04d}"  # a facility of each file's own: its figures are the file's
        buf = io.BytesIO()
        summary = generator.generate(buf, facility=facility, records=records, year=2024, months=[7, 8, 9],
                                     seed=seed * 10_000 + n, faults={"icd10_invalid": 3, "amount_negative": 2})
        n += 1
        sent = c.call("claims upload", "POST", "/api/v1/claims/files", expect=202, data=buf.getvalue(),
                      headers={"Content-Type": "application/xml", "Idempotency-Key": str(uuid.uuid4())})
        if sent is None:
            continue
        started = time.perf_counter()
        while True:
            st = c.call("claims file status", "GET", f"/api/v1/claims/files/{sent['id']}", params={"errors_limit": 0})
            if st is None or st["status"] != "processing":
                break
            time.sleep(0.3)
        if st is None:
            continue
        c.tally.took("claims file upload→done", time.perf_counter() - started)
        got = (st["status"], st["records"]["total"], st["records"]["accepted"])
        if got != ("done", summary.records, summary.accepted):
            c.tally.error(f"file {sent['id']}: {got} != ('done', {summary.records}, {summary.accepted})")
            continue
        rec = c.call("reconciliation", "GET", "/api/v1/reconciliation", params={"facility": facility,
                                                                                 "period": "2024-Q3"})
        if rec is not None and (rec["claims"]["count"], Decimal(rec["claims"]["requested"])) != (
            summary.accepted, summary.t_bhtt
        ):
            c.tally.error(f"reconciliation of {facility}: {rec['claims']} != {summary.accepted}, {summary.t_bhtt}")
        with c.tally.lock:
            c.tally.files.append({"id": sent["id"], "facility": facility, "records": summary.records})


def finance_loop(c: Client, stop: threading.Event, seed: int) -> None:
    rnd = random.Random(seed)  # noqa: S311 - amounts, not secrets
    while not stop.is_set():
        amount = rnd.randint(1, 1_000) * 1_000_000
        alloc = c.call("allocation", "POST", "/api/v1/allocations", expect=201, json={
            "plan_id": 1, "item_code": ITEM, "source": "provincial_budget", "fiscal_year": YEAR,
            "recipient_unit": "91", "amount": amount, "decision_no": f"{uuid.uuid4().hex[:8]}/QĐ-UBND",
            "decision_date": f"{YEAR}-03-01",
        }, headers={"Idempotency-Key": str(uuid.uuid4())})
        if alloc is None:
            continue
        with c.tally.lock:
            c.tally.allocated += amount
        part = amount * rnd.randint(1, 9) // 10
        paid = c.call("disbursement", "POST", f"/api/v1/allocations/{alloc['id']}/disbursements", expect=201,
                      json={"amount": part, "date": f"{YEAR}-04-01", "reference": "UNC soak"},
                      headers={"Idempotency-Key": str(uuid.uuid4())})
        if paid is not None:
            with c.tally.lock:
                c.tally.disbursed += part


def reader_loop(c: Client, stop: threading.Event, facility: list[str]) -> None:
    while not stop.is_set():
        c.call("item funding", "GET", f"/api/v1/plans/1/items/{ITEM}/funding", params={"year": YEAR})
        c.call("plan tree", "GET", "/api/v1/plans/1/funding", params={"year": YEAR})
        if facility:
            c.call("reconciliation", "GET", "/api/v1/reconciliation", params={"facility": facility[0],
                                                                              "period": "2024-Q3"})
            c.call("claims list", "GET", "/api/v1/claims", params={"facility": facility[0], "per_page": 50})
        time.sleep(0.05)


# ---- the run -------------------------------------------------------------------------------------------------


def sample(stack: Any, vhost: str, t: float) -> Sample:
    roles = processes(stack.proc.pid)
    rss = {role: sum(p.memory_info().rss for p in procs) / MIB for role, procs in roles.items()}
    pids = {role: sorted(p.pid for p in procs) for role, procs in roles.items()}
    outbox = {s: outbox_backlog(stack.env[f"{s.upper()}_METRICS_PORT"]) for s in SERVICES}
    return Sample(t, rss, pids, queue_depths(vhost), outbox)


def run(args: argparse.Namespace) -> int:
    from tests.support.infra import Stack, pg_database, rabbit_vhost

    limits = Limits(args.warmup, args.rss_limit_mib, args.rss_limit_pct, args.queue_limit)
    with contextlib.ExitStack() as es:
        work = Path(es.enter_context(tempfile.TemporaryDirectory(prefix="ytcs-soak-")))
        amqp = es.enter_context(rabbit_vhost())
        vhost = urlsplit(amqp).path.lstrip("/") or "/"
        dbs = ({s: es.enter_context(pg_database("ytcs_soak")) for s in (*SERVICES, "gateway")}
               if args.postgres else None)
        stack = Stack(work, amqp, dbs)
        es.callback(stack.stop)  # also when it never became healthy
        stack.start()
        tokens = {role: stack.token(role) for role in ("finance", "bhxh", "viewer")}
        tally = Tally()
        before = Client(stack.url, tokens["viewer"], tally).call(
            "item funding", "GET", f"/api/v1/plans/1/items/{ITEM}/funding", params={"year": YEAR})
        stop = threading.Event()
        first_facility: list[str] = []
        threads = [threading.Thread(target=claims_loop, args=(Client(stack.url, tokens["bhxh"], tally), stop,
                                                              args.records, k)) for k in range(args.uploaders)]
        threads += [threading.Thread(target=finance_loop, args=(Client(stack.url, tokens["finance"], tally), stop, k))
                    for k in range(args.writers)]
        threads += [threading.Thread(target=reader_loop, args=(Client(stack.url, tokens["bhxh"], tally), stop,
                                                               first_facility)) for _ in range(args.readers)]
        for th in threads:
            th.daemon = True
            th.start()
        started = time.monotonic()
        deadline = started + args.minutes * 60
        samples: list[Sample] = []
        while time.monotonic() < deadline:
            samples.append(sample(stack, vhost, time.monotonic() - started))
            print(json.dumps({"sample": samples[-1].as_json()}), flush=True)
            if not first_facility and tally.files:
                first_facility.append(tally.files[0]["facility"])
            time.sleep(max(0.0, min(args.every, deadline - time.monotonic())))
        stop.set()
        for th in threads:
            th.join(timeout=300)
        load_s = time.monotonic() - started
        # Drained: nothing left in any queue or outbox once the load stops.
        drain_deadline, drained = time.monotonic() + 120, None
        while time.monotonic() < drain_deadline:
            last = sample(stack, vhost, time.monotonic() - started)
            if not any(last.queues.values()) and not any(last.outbox.values()):
                drained = round(time.monotonic() - started - load_s, 1)
                break
            time.sleep(2)
        after = Client(stack.url, tokens["viewer"], tally).call(
            "item funding", "GET", f"/api/v1/plans/1/items/{ITEM}/funding", params={"year": YEAR})
        failures, figures = verdict(samples, limits)
        if tally.error_count:
            failures.append(f"{tally.error_count} error(s), first: {tally.errors[:3]}")
        if drained is None:
            failures.append(f"not drained 120 s after the load: queues {last.queues}, outboxes {last.outbox}")
        if before is not None and after is not None:
            got = (after["allocated"] - before["allocated"], after["disbursed"] - before["disbursed"])
            if got != (tally.allocated, tally.disbursed):
                failures.append(f"item {ITEM} grew by {got}, the soak sent {(tally.allocated, tally.disbursed)}")
        ops = {kind: {"count": len(v), "p50_ms": round(percentile(sorted(v), 50) * 1000, 1),
                      "p99_ms": round(percentile(sorted(v), 99) * 1000, 1)}
               for kind, v in sorted(tally.latencies.items())}
        result = {
            "db": "postgresql" if args.postgres else "sqlite", "minutes": args.minutes, "load_s": round(load_s),
            "files": len(tally.files), "claim_records": sum(f["records"] for f in tally.files),
            "allocated_vnd": tally.allocated, "disbursed_vnd": tally.disbursed, "errors": tally.error_count,
            "drained_after_s": drained, "ops": ops, **figures, "failures": failures,
        }
    print(json.dumps({"result": result}, ensure_ascii=False), flush=True)
    print(table(result))
    return 1 if failures else 0


def table(result: dict[str, Any]) -> str:
    """The summary as the Markdown tables docs/benchmarks.md quotes."""
    lines = [f"soak {result['minutes']} min, {result['db']}: {result['files']} files / {result['claim_records']} "
             f"claim records, {result['ops'].get('allocation', {}).get('count', 0)} allocations, "
             f"{result['errors']} errors, drained {result['drained_after_s']} s after the load",
             "", "| process | RSS first third (MiB) | last third (MiB) | growth (MiB) | max (MiB) |",
             "|---|---:|---:|---:|---:|"]
    for role, m in result["memory"].items():
        lines.append(f"| {role} | {m['first_mib']} | {m['last_mib']} | {m['growth_mib']} | {m['max_mib']} |")
    q = result["queues"]
    if q:
        lines.append(f"| queue depth, all queues (messages) | {q['first']:.0f} | {q['last']:.0f} | "
                     f"{q['last'] - q['first']:.0f} | {q['max']:.0f} |")
    lines += ["", "| operation | count | p50 (ms) | p99 (ms) |", "|---|---:|---:|---:|"]
    for kind, o in result["ops"].items():
        lines.append(f"| {kind} | {o['count']} | {o['p50_ms']} | {o['p99_ms']} |")
    lines.append("")
    lines.append("verdict: " + ("clean" if not result["failures"] else "; ".join(result["failures"])))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--records", type=int, default=2_000, help="records per claim file")
    p.add_argument("--uploaders", type=int, default=1)
    p.add_argument("--writers", type=int, default=1)
    p.add_argument("--readers", type=int, default=2)
    p.add_argument("--postgres", action="store_true")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds not judged for trends")
    p.add_argument("--rss-limit-mib", type=float, default=30.0)
    p.add_argument("--rss-limit-pct", type=float, default=15.0)
    p.add_argument("--queue-limit", type=int, default=50)
    args = p.parse_args(argv)
    if not 0.5 <= args.minutes <= 120:
        p.error("--minutes: 0.5 to 120")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
