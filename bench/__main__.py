"""`make bench`: every benchmark of docs/benchmarks.md, in order, each line of output JSON, kept in bench/out/.

    .venv/bin/python -m bench                 # everything (about 45 minutes on 2 cores)
    .venv/bin/python -m bench intake latency  # some of them
    .venv/bin/python -m bench --list
    .venv/bin/python -m bench --ref 1e8f154 intake soak   # before/after: also the code of that commit

With `--ref` (`make bench REF=…`), `intake` runs that commit's intake beside the current one on the same file in
the same run (bench.intake --ref); every other suite runs first as that commit's own bench, from a `git worktree`
of it, then as the current one, both into the same output file.

Each suite is also a module of its own (`python -m bench.intake --help` …) with the exact commands the
document quotes. Output goes to the terminal and to bench/out/<suite>-<UTC time>.jsonl with `uptime` and
`nproc`/`free -h` first, since the numbers only mean something next to the machine's load at the time.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PY = sys.executable
PROVINCE = OUT / "province"

# name -> (what it measures, argv lists run in turn)
SUITES: dict[str, tuple[str, list[list[str]]]] = {
    "intake": (
        "claims/s of the intake next to the floor, SQLite and PostgreSQL, 10k and 100k records",
        [
            [PY, "-m", "bench.intake", "--sizes", "10000,100000"],
            [PY, "-m", "bench.intake", "--sizes", "10000,100000", "--postgres"],
        ],
    ),
    "intake-bound": (
        "the least the intake could take were typing and every rule free, next to the floor (10k, both databases)",
        [
            [PY, "-m", "bench.intake", "--sizes", "10000", "--bound"],
            [PY, "-m", "bench.intake", "--sizes", "10000", "--bound", "--postgres"],
        ],
    ),
    "stages": (
        "CPU µs per record of each intake stage (check pass, envelope, parse, read, decode, validate), 10k records",
        [[PY, "-m", "bench.stages", "--records", "10000"]],
    ),
    "intake-stack": (
        "the same through POST /api/v1/claims/files of a running system (100k records, SQLite and PostgreSQL)",
        [
            [PY, "-m", "bench.intake", "--sizes", "100000", "--mode", "stack"],
            [PY, "-m", "bench.intake", "--sizes", "100000", "--mode", "stack", "--postgres"],
        ],
    ),
    "memory": (
        "peak RSS from 10,000 to 1,000,000 records (in-process, SQLite)",
        [[PY, "-m", "bench.intake", "--sizes", "10000,1000000", "--no-floor"]],
    ),
    "latency": (
        "p50/p99 of item funding, plan tree and reconciliation on a loaded province, 1 and 4 gunicorn workers",
        [
            [PY, "-m", "bench.province", "--var", str(PROVINCE)],
            [PY, "-m", "bench.latency", "--var", str(PROVINCE), "--workers", "1,4", "--concurrency", "1"],
            [PY, "-m", "bench.latency", "--var", str(PROVINCE), "--workers", "1,4", "--concurrency", "4"],
        ],
    ),
    "scaleout": (
        "1, 2 and 4 claims replicas as competing consumers on 4 files of 10,000 records",
        [[PY, "-m", "bench.scaleout", "--replicas", "1,2,4", "--files", "4", "--records", "10000"]],
    ),
    "chunked": (
        "one 100,000-record file loaded by 1, 2 and 4 claims replicas sharing its chunks (PostgreSQL)",
        [[PY, "-m", "bench.chunked", "--replicas", "1,2,4", "--records", "100000", "--db", "postgres"]],
    ),
    "reads": (
        "claims' reconciliation and year summary at 20k, 200k and 1M claims: the scan against the kept totals (PG)",
        [[PY, "-m", "bench.reads", "--claims", "20000,200000,1000000", "--postgres"]],
    ),
    "allocation-import": (
        "finance's imports of 2,000-row sheets of allocations and of payments, each sent twice (SQLite, PostgreSQL)",
        [
            [PY, "-m", "bench.allocation_import", "--rows", "2000"],
            [PY, "-m", "bench.allocation_import", "--rows", "2000", "--postgres"],
        ],
    ),
    "project-payments": (
        "investment's import of a 2,000-line treasury statement of 200 projects' payments, sent twice (SQLite, PG)",
        [
            [PY, "-m", "bench.project_payments", "--rows", "2000"],
            [PY, "-m", "bench.project_payments", "--rows", "2000", "--postgres"],
        ],
    ),
    "soak": (
        "5 minutes of claim files, allocations and queries mixed: memory, queue depth, errors (SQLite, PostgreSQL)",
        [[PY, "-m", "bench.soak", "--minutes", "5"], [PY, "-m", "bench.soak", "--minutes", "5", "--postgres"]],
    ),
}


def _runs(name: str, ref: str | None) -> list[tuple[list[str], Path]]:
    """(argv, working directory) in turn: with a ref, intake measures both itself; other suites run twice."""
    cmds = SUITES[name][1]
    if ref is None:
        return [(c, ROOT) for c in cmds]
    if name in ("intake", "intake-bound"):
        return [([*c, "--ref", ref], ROOT) for c in cmds]
    if name == "stages":  # both from here, the reference's services imported by --code
        from bench.intake import reference_checkout

        return [([*c, "--code", str(reference_checkout(ref))], ROOT) for c in cmds] + [(c, ROOT) for c in cmds]
    from bench.intake import reference_checkout

    before = reference_checkout(ref)
    return [(c, before) for c in cmds] + [(c, ROOT) for c in cmds]


def _machine() -> str:
    def sh(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()  # noqa: S603

    return f"nproc={sh('nproc')}\n{sh('free', '-h')}\n{sh('uptime')}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--list" in args:
        for name, (what, _) in SUITES.items():
            print(f"{name:14s} {what}")
        return 0
    ref = None
    if "--ref" in args:
        at = args.index("--ref")
        if at + 1 >= len(args):
            print("--ref needs a commit", file=sys.stderr)
            return 2
        ref, args = args[at + 1], args[:at] + args[at + 2 :]
    chosen = args or list(SUITES)
    unknown = [a for a in chosen if a not in SUITES]
    if unknown:
        print(f"unknown suite(s) {unknown}; --list shows them", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in chosen:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out = OUT / f"{name}-{stamp}.jsonl"
        with open(out, "w") as fh:
            fh.write("# " + _machine().replace("\n", "\n# ") + "\n")
            for cmd, cwd in _runs(name, ref):
                if name == "latency" and cmd[2] == "bench.province" and (PROVINCE / "loaded.json").exists():
                    continue  # the province is built once; delete bench/out/province to rebuild it
                fh.write(f"# {'' if cwd == ROOT else f'(code of {ref}) '}"
                         + " ".join(Path(c).name if c == PY else c for c in cmd) + "\n")
                fh.flush()
                print("$", " ".join(cmd), flush=True)
                run_env = env if cwd == ROOT else dict(env, PYTHONPATH=str(cwd))
                proc = subprocess.Popen(cmd, cwd=cwd, env=run_env, stdout=subprocess.PIPE, text=True)  # noqa: S603
                assert proc.stdout is not None
                for line in proc.stdout:
                    sys.stdout.write(line)
                    fh.write(line)
                if proc.wait() != 0:
                    print(f"{name}: {cmd} failed with {proc.returncode}", file=sys.stderr)
                    return proc.returncode
        print(f"{name}: written to {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
