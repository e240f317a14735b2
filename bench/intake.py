"""Claim intake against its floor, on the same file in the same run.

    .venv/bin/python -m bench.intake --sizes 10000,100000                 # SQLite, in-process
    .venv/bin/python -m bench.intake --sizes 10000 --postgres             # PostgreSQL
    .venv/bin/python -m bench.intake --sizes 100000 --mode stack          # POST through the gateway (RabbitMQ)
    .venv/bin/python -m bench.intake --sizes 1000000 --no-floor           # memory at 1M records
    .venv/bin/python -m bench.intake --sizes 10000 --ref 1e8f154          # and the code of that commit: before/after
    .venv/bin/python -m bench.intake --sizes 10000 --bound                # and its bound were typing and rules free

For each size one file is generated (services/devtools/claims_generator.py: one station, three months, planted faults),
then the floor (bench/floor.py) and the system each read it in a fresh child process on a fresh database:
`inprocess` runs the claims service's intake pipeline (what `file_received` runs), `stack` uploads the file to
`POST /api/v1/claims/files` of a whole `ytcs run` and polls `GET /api/v1/claims/files/{id}` until done.
One JSON line per size: claims/s of both, the ratio system/floor, peak RSS, and `uptime` at the start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import claims_intake

ROOT = Path(__file__).resolve().parents[1]


def load_average() -> str:
    return os.popen("uptime").read().strip().split("load average:")[-1].strip()  # noqa: S605, S607 - fixed command


@contextlib.contextmanager
def database(postgres: bool, workdir: str, name: str) -> Iterator[str]:
    if postgres:
        with claims_intake.fresh_pg() as url:
            yield url
    else:
        yield f"sqlite:///{workdir}/{name}.db"


def floor(path: Path, db: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.floor", str(path), "--db", db], cwd=ROOT, capture_output=True, text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def reference_checkout(ref: str) -> Path:
    """A detached `git worktree` of `ref` outside the repository (kept for the next run): the code *before*."""
    sha = subprocess.run(["git", "rev-parse", "--short=12", ref], cwd=ROOT, capture_output=True, text=True,  # noqa: S603, S607
                         check=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"ytcs-bench-ref-{sha}"
    if not (path / "services").is_dir():
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=True)  # noqa: S603, S607
        subprocess.run(["git", "worktree", "add", "--detach", str(path), sha], cwd=ROOT, check=True,  # noqa: S603, S607
                       capture_output=True)
    if (path / "setup.py").exists() and not list((path / "services").rglob("*.so")):  # its compiled reader
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=path, check=True,  # noqa: S603
                       capture_output=True)
    venv = path / ".venv"
    if not venv.exists():  # its stacks run `.venv/bin/ytcs`: this one's, which imports the PYTHONPATH's services
        venv.symlink_to(ROOT / ".venv")
    return path


def _ratio(system_s: float, row: dict[str, Any], size: int) -> float | None:
    floor_rate = row.get("floor", {}).get("records_per_s")
    return round(round(size / system_s) / floor_rate, 2) if floor_rate and system_s else None


def measure(
    size: int, *, mode: str, postgres: bool, with_floor: bool, seed: int = 7, ref: str | None = None,
    bound: bool = False,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ytcs-bench-intake-") as work:
        path = Path(work) / f"claims-{size}.xml"
        row: dict[str, Any] = {"records": size, "db": "postgresql" if postgres else "sqlite", "mode": mode,
                               "load_average": load_average()}
        row["file"] = claims_intake.generate(path, size, seed)
        if with_floor:
            with database(postgres, work, "floor") as db:
                row["floor"] = floor(path, db)
        if mode == "inprocess":
            if ref is not None:  # the code before, on the same file in the same run
                with database(postgres, work, "before") as db:
                    before = claims_intake.inprocess(path, None if db.startswith("sqlite") else db,
                                                     reference_checkout(ref))
                row["before"] = {"ref": ref, **before, "ratio_to_floor": _ratio(before["process_s"], row, size)}
            with database(postgres, work, "claims") as db:
                row["system"] = claims_intake.inprocess(path, None if db.startswith("sqlite") else db)
            seconds = row["system"]["process_s"]
            if bound:  # the same intake with typing and rules free: the most any faster typing could reach
                with database(postgres, work, "bound") as db:
                    free = claims_intake.inprocess(path, None if db.startswith("sqlite") else db, decoded=True)
                least = free["process_s"] + free["parse_cpu_s"]
                row["bound"] = {**free, "least_s": round(least, 2), "ratio_to_floor": _ratio(least, row, size)}
        else:
            row["system"] = claims_intake.through_stack(path, postgres=postgres)
            seconds = row["system"]["upload_to_done_s"]
        row["system_claims_per_s"] = round(size / seconds) if seconds else None
        if with_floor:
            row["ratio_to_floor"] = _ratio(seconds, row, size)
        row["load_average_after"] = load_average()
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--mode", choices=("inprocess", "stack"), default="inprocess")
    p.add_argument("--postgres", action="store_true")
    p.add_argument("--no-floor", action="store_true")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--ref", help="also run the intake of this commit (in-process), same file, same run: before/after")
    p.add_argument("--bound", action="store_true",
                   help="also the intake with every record decoded and validated beforehand (in-process): its "
                        "time plus libxml2's parse is the least the intake could take were typing and rules free")
    args = p.parse_args(argv)
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, mode=args.mode, postgres=args.postgres, with_floor=not args.no_floor, seed=args.seed,
                      ref=args.ref, bound=args.bound)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
