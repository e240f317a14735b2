"""Profile claim intake with py-spy and print where the time goes (inclusive and own, by function).

    .venv/bin/pip install py-spy==0.4.3       # not a dependency of the project: a tool on the bench
    .venv/bin/python -m bench.profile --records 10000 [--postgres] [--decoded]
    .venv/bin/python -m bench.profile --summarise bench/out/prof.txt

The in-process intake (the code the claims service runs for `file_received`) is sampled at 200 Hz into
py-spy's collapsed-stack format under bench/out/, then summarised here: no flamegraph tooling needed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def summarise(raw: Path, top: int = 30, within: str | None = None) -> str:
    """Collapsed stacks ("a (file:line);b (file:line) COUNT") -> the functions by inclusive and own share;
    `within`: only the samples taken inside that function (e.g. "Intake.process")."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        # Drop the line numbers so that one function is one entry.
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" if " (" in f else f
                  for f in stack.split(";")]
        if within is not None and not any(f.startswith(within + " (") for f in frames):
            continue
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    rows = [f"samples: {total}", "", "inclusive %  function"]
    rows += [f"{100 * n / total:10.1f}  {f}" for f, n in inclusive.most_common(top)]
    rows += ["", "own %       function"]
    rows += [f"{100 * n / total:10.1f}  {f}" for f, n in own.most_common(top)]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--postgres", action="store_true")
    p.add_argument("--out", default=str(OUT / "prof.txt"))
    p.add_argument("--summarise", help="only summarise an existing raw profile")
    p.add_argument("--decoded", action="store_true",
                   help="records decoded and validated before the intake runs (bench.intake --bound); only the "
                        "intake's own samples are summarised")
    args = p.parse_args(argv)
    within = "Intake.process" if args.decoded else None
    if args.summarise:
        print(summarise(Path(args.summarise), within=within))
        return 0
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed: .venv/bin/pip install py-spy==0.4.3", file=sys.stderr)
        return 2
    from bench import claims_intake

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ytcs-prof-") as work:
        path = Path(work) / "claims.xml"
        claims_intake.generate(path, args.records, 7)
        cmd = [sys.executable, "-m", "bench.claims_intake", "--child", str(path), "--workdir", work]
        if args.decoded:
            cmd.append("--child-decoded")
        if args.postgres:
            with claims_intake.fresh_pg() as url:
                subprocess.run([spy, "record", "-r", "200", "-f", "raw", "-o", args.out, "--", *cmd, "--child-db", url],
                               cwd=ROOT, check=True)
        else:
            subprocess.run([spy, "record", "-r", "200", "-f", "raw", "-o", args.out, "--", *cmd], cwd=ROOT, check=True)
    print(summarise(Path(args.out), within=within))
    return 0


if __name__ == "__main__":
    sys.exit(main())
