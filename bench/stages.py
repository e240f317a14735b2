"""Where the intake's CPU goes, stage by stage, in µs per record (`time.process_time`, one generated file).

    .venv/bin/python -m bench.stages --records 10000                 # this checkout
    .venv/bin/python -m bench.stages --records 10000 --code DIR      # another checkout's services (a worktree)

Each stage runs on its own over the whole file, in the order the intake runs them: the check pass (envelope parse
without base64, and the record-boundary scan), the envelope with base64, libxml2's parse of the tables, reading the
child elements into dicts (what lxml costs before any value is typed), `decode_record` (parse, read, type, build
the claim), `validate`; and `type_and_build`, the typing and building of the claim and its lines alone, over
tables parsed beforehand (the most that compiling the typing could save). The database writes are not here:
`bench.intake` measures the whole.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.process_time()
    out = fn()
    return time.process_time() - started, out


def measure(path: Path, records: int) -> dict[str, float]:
    from bench.claims_intake import collect_as_the_worker
    from services.claims.intake import _Counting
    from services.claims.parsing import decode_record, open_claim_file
    from services.claims.parsing.boundaries import RecordBoundaries
    from services.claims.parsing.safexml import read_document
    from services.claims.validation import ValidationContext, validate

    collect_as_the_worker()

    def check() -> int:
        scan = RecordBoundaries(5000)
        with open(path, "rb") as fh:
            n = sum(1 for _ in open_claim_file(_Counting(fh, scan.feed), decode=False))
        scan.result()
        return n

    def envelope() -> tuple[list[Any], Any]:
        with open(path, "rb") as fh:
            reader = open_claim_file(fh)
            return list(reader), reader.header

    try:  # the compiled reader (parsing/flatxml.pyx), where the checkout has it
        from services.claims.parsing import flatxml as flat
        from services.claims.parsing.tables import ROW_TAGS
    except ImportError:
        flat = None

    def read_children() -> None:
        # As the decoder reads a table: the root's fields (XML1), and each line's under root/list/line (XML2–5).
        if flat is not None:
            for raw in raws:
                for name, data in raw.tables.items():
                    root = read_document(data)[0]
                    if name == "XML1":
                        flat.fields(root)
                    elif name in ROW_TAGS:
                        flat.rows(root, ROW_TAGS[name])
            return
        for raw in raws:
            for data in raw.tables.values():
                root = read_document(data)[0]
                {child.tag: child.text for child in root}
                for group in root:
                    for line in group if len(group) else ():
                        {child.tag: child.text for child in line}

    out: dict[str, float] = {}
    out["check_pass"], _ = _timed(check)
    out["envelope_base64"], (raws, header) = _timed(envelope)
    out["parse_tables"], _ = _timed(lambda: [read_document(d) for r in raws for d in r.tables.values()])
    out["parse_and_read_elements"], _ = _timed(read_children)
    out.update(_type_and_build(raws))
    fresh = copy.deepcopy(raws)  # decode_record adds its notes to the raw record
    out["decode_record"], claims = _timed(lambda: [decode_record(r, header) for r in fresh])
    ctx = ValidationContext(envelope_facility=header.facility, commune_station=True)
    out["validate"], _ = _timed(lambda: [validate(c, ctx) for c, _ in claims if c is not None])
    return {k: round(v * 1e6 / records, 1) for k, v in out.items()}


def _type_and_build(raws: list[Any]) -> dict[str, float]:
    """What decode_record does past libxml2: XML1's fields typed into the Claim, and each line of XML2/XML3 read
    (the compiled reader), typed and built, over tables parsed beforehand. The bound of compiling the typing:
    were it free, the intake would save this much and no more. Empty for a checkout without these functions."""
    try:
        from services.claims.parsing import flatxml as flat
        from services.claims.parsing.safexml import read_document
        from services.claims.parsing.tables import _claim, _lines
    except ImportError:
        return {}
    roots = [{n: read_document(d)[0] for n, d in r.tables.items() if n in ("XML1", "XML2", "XML3")} for r in raws]
    fields = [flat.fields(r["XML1"]) for r in roots]

    def build() -> None:
        for i, (r, v1) in enumerate(zip(roots, fields, strict=True)):
            claim = _claim(i, v1, v1.get("MA_LK"), [], set())
            for table in ("XML2", "XML3"):
                if table in r:
                    _lines(claim, table, r[table], [], set())

    seconds, _ = _timed(build)
    return {"type_and_build": seconds}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--code", help="a checkout whose services/ to measure (default: this one)")
    args = p.parse_args(argv)
    if args.code:
        sys.path.insert(0, str(Path(args.code).resolve()))
    from bench import claims_intake

    with tempfile.TemporaryDirectory(prefix="ytcs-bench-stages-") as work:
        path = Path(work) / "claims.xml"
        claims_intake.generate(path, args.records, args.seed)
        row = {"records": args.records, "code": args.code or ".", "us_per_record": measure(path, args.records)}
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
