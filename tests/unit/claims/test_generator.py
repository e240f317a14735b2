"""The generator's files against the parser and validators: faults, totals, formats, standards."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal

import pytest

from services.claims.parsing import open_claim_file
from services.claims.reference import load_icd_catalogue
from services.claims.validation import CATALOG
from services.common.periods import Quarter
from services.devtools.claims_generator import (
    CRITICAL_FAULTS,
    RECORD_FAULTS,
    WARNING_FAULTS,
    GeneratedSummary,
    generate,
    main,
)
from tests.unit.claims.builders import run

ALL_FAULTS = {code: 2 for code in RECORD_FAULTS}


def make(records: int = 300, **options: object) -> tuple[bytes, GeneratedSummary]:
    buf = io.BytesIO()
    opts = {"year": 2024, "months": [7, 8, 9], "seed": 11, **options}
    summary = generate(buf, records=records, **opts)  # type: ignore[arg-type]
    return buf.getvalue(), summary


@pytest.fixture(scope="module", params=["130", "130-sloppy", "4210"])
def faulty(request: pytest.FixtureRequest) -> tuple[bytes, GeneratedSummary]:
    standard, _, sloppy = request.param.partition("-")
    return make(standard=standard, sloppy=bool(sloppy), faults=ALL_FAULTS)


def test_every_fault_gives_exactly_its_code_and_the_rest_are_clean(faulty):
    data, summary = faulty
    results = run(data)
    assert len(results) == summary.records == 300
    seen = Counter()
    for index, result in enumerate(results):
        expected = summary.fault_index.get(index)
        assert {i.code for i in result.issues} == ({expected} if expected else set()), (index, result.issues)
        assert result.accepted == (expected not in CRITICAL_FAULTS)
        seen[expected] += 1
    assert all(seen[code] == 2 for code in RECORD_FAULTS)
    assert summary.accepted == sum(r.accepted for r in results)
    assert [(ma_lk, code) for ma_lk, code in summary.faults if code == "duplicate_claim"]


def test_totals_equal_totals_recomputed_from_parsing(faulty):
    data, summary = faulty
    reader = open_claim_file(io.BytesIO(data))
    totals: dict[tuple[str, str], list] = {}
    for result in run(data):
        if not result.accepted:
            continue
        claim = result.claim
        key = (reader.header.facility, str(Quarter.of_month(claim.nam_qt, claim.thang_qt)))
        entry = totals.setdefault(key, [0, Decimal("0.00"), Decimal("0.00")])
        entry[0] += 1
        entry[1] += claim.t_bhtt
        entry[2] += claim.t_bhtt_gdv
    assert {k: (t.count, t.t_bhtt, t.t_bhtt_gdv) for k, t in summary.totals.items()} == \
        {k: tuple(v) for k, v in totals.items()}
    assert summary.t_bhtt > 0 and summary.t_bhtt_gdv > 0


def _comparable(claim) -> dict:
    fields = dataclasses.asdict(claim)
    fields["other_tables"] = sorted(fields["other_tables"])  # the same tables, formatted differently
    # The text as written (CDATA, padding, 7 for 07) differs by design; the typed values must not.
    for drop in ("fields", "details"):
        fields.pop(drop)
    for line in fields["lines"]:
        line.pop("fields")
    return fields


def test_sloppy_variants_parse_to_the_same_claims_as_the_clean_file():
    clean, _ = make(records=250, faults=ALL_FAULTS)
    sloppy, _ = make(records=250, faults=ALL_FAULTS, sloppy=True)
    assert clean != sloppy
    for a, b in zip(run(clean), run(sloppy), strict=True):
        assert (a.claim is None) == (b.claim is None)
        if a.claim is not None:
            assert _comparable(a.claim) == _comparable(b.claim)
        assert [(i.code, i.table, i.field) for i in a.issues] == [(i.code, i.table, i.field) for i in b.issues]


def test_sloppy_file_really_is_sloppy():
    data, _ = make(records=120, sloppy=True)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b'xmlns="' in data
    reader = open_claim_file(io.BytesIO(data))
    inner = b"".join(t for raw in reader for t in raw.tables.values())
    for marker in (b"<![CDATA[", b"<THANG_QT>7</THANG_QT>", b"\xef\xbb\xbf", b"<T_NGUONKHAC/>",
                   b"<T_NGUONKHAC></T_NGUONKHAC>", b"xmlns=", b"*</MA_BENH_CHINH>", b"\xff\xfe"):
        assert marker in inner, marker


def test_generated_claims_look_real():
    data, summary = make(records=600)
    claims = [r.claim for r in run(data)]
    icd = load_icd_catalogue()
    assert all(c.ma_benh_chinh in icd for c in claims)
    groups = Counter(c.ma_the_bhyt[:2] for c in claims)
    assert len(groups) >= 10 and {"GD", "HS", "TE", "HN", "DN", "HT"} <= set(groups)
    assert {c.ma_the_bhyt[2] for c in claims} >= {"1", "2", "3", "4"}
    assert sum(";" in c.ma_the_bhyt for c in claims) >= 1  # several cards in one visit
    assert {c.ma_loai_kcb for c in claims} == {"01", "06", "07"}
    pttt = Counter(ln.ma_pttt for c in claims for ln in c.lines)
    assert pttt["2"] > pttt["1"] > 0
    assert 0 < sum(c.t_bhtt_gdv > 0 for c in claims) < len(claims)
    assert any(c.other_tables for c in claims)
    assert any(ln.t_nguonkhac > 0 for c in claims for ln in c.lines)
    assert len({c.ma_bn for c in claims}) > 100
    assert all(c.nam_qt == 2024 and c.thang_qt in (7, 8, 9) for c in claims)
    assert summary.accepted == 600


def test_qd4210_file_parses():
    data, summary = make(records=80, standard="4210")
    assert b"<MA_THE>" in b"".join(t for raw in open_claim_file(io.BytesIO(data)) for t in raw.tables.values())
    results = run(data)
    assert all(r.accepted and r.issues == [] for r in results)
    assert {r.claim.standard for r in results} == {"4210"}
    assert sum(r.claim.t_bhtt for r in results) == summary.t_bhtt


def test_deterministic_and_file_level_fault():
    assert make(records=40, seed=5)[0] == make(records=40, seed=5)[0]
    assert make(records=40, seed=5)[0] != make(records=40, seed=6)[0]
    data, summary = make(records=10, faults={"record_count_mismatch": 1})
    reader = open_claim_file(io.BytesIO(data))
    list(reader)
    assert [i.code for i in reader.file_issues()] == summary.file_faults == ["record_count_mismatch"]


def test_generator_arguments_are_checked():
    with pytest.raises(ValueError):
        make(records=5, faults={"no_such_code": 1})
    with pytest.raises(ValueError):
        make(records=5, faults={"amount_mismatch": 6})
    with pytest.raises(ValueError):
        make(records=5, facility="9106")
    with pytest.raises(ValueError):
        make(records=5, months=[13])


def test_command_line(tmp_path, capsys):
    out = tmp_path / "f.xml"
    code = main(["--records", "25", "--facility", "91071", "--year", "2024", "--months", "1,2", "--seed", "3",
                 "--fault", "amount_mismatch=2", "--fault", "icd10_invalid=1", "--sloppy", "-o", str(out)])
    assert code == 0
    assert "25 hồ sơ" in capsys.readouterr().out
    results = run(out.read_bytes())
    assert sum(not r.accepted for r in results) == 3
    with pytest.raises(SystemExit):
        main(["--records", "5", "--fault", "amount_mismatch"])


def test_every_generated_code_is_in_the_catalog():
    assert set(RECORD_FAULTS) <= set(CATALOG)
    assert all(CATALOG[c][0] == "critical" for c in CRITICAL_FAULTS)
    assert all(CATALOG[c][0] == "warning" for c in WARNING_FAULTS)


_RSS_SCRIPT = r"""
import os, resource, sys, threading
from services.devtools.claims_generator import generate
from services.claims.parsing import open_claim_file
from services.claims.reading import check_record
from services.claims.validation import ValidationContext
r, w = os.pipe()
n = int(sys.argv[1])
def produce():
    with os.fdopen(w, "wb", buffering=1 << 16) as out:
        generate(out, records=n, year=2024, months=[7, 8, 9], seed=1)
threading.Thread(target=produce, daemon=True).start()
reader = open_claim_file(os.fdopen(r, "rb"))
ctx = ValidationContext(reader.header.facility)
count = sum(check_record(raw, reader.header, ctx).accepted for raw in reader)
assert count == n, count
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_memory_stays_flat_whatever_the_file_size():
    """Generator and reader stream: 10x the records must not mean more memory (ru_maxrss, kB)."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}

    def peak(records: int) -> int:
        done = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(records)], capture_output=True, text=True,
                              check=True, env=env, timeout=1800)
        return int(done.stdout.strip())

    small, large = peak(1_000), peak(10_000)  # 8.5 MB and 85 MB of XML: a file held whole would show
    assert large - small < 20 * 1024, (small, large)
