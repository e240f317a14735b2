"""The floor of claim intake: the least work that still reads every record of a file.

    .venv/bin/python -m bench.floor FILE [--db URL]

A bare loop, written the way one would without the system: `lxml.etree.iterparse` over the GIAMDINHHS
envelope, `binascii.a2b_base64` of each NOIDUNGFILE, `lxml.etree.fromstring` of XML1, XML2 and XML3, and one
row per record (MA_LK, MA_THE_BHYT, T_BHTT and the number of lines) inserted in batches of 1,000 (sqlite3
`executemany`, psycopg2 `execute_values`; one commit per batch). No validation, no lines stored, no issues, no
counters: whatever the system does on top of this is its overhead.
"""

from __future__ import annotations

import argparse
import binascii
import json
import resource
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from lxml import etree

BATCH = 1000
_INNER = ("XML1", "XML2", "XML3")


def _connect(db: str) -> tuple[Any, str]:
    """A DB-API connection and its parameter style, on a fresh `floor_claims` table."""
    if db.startswith("postgresql"):
        import psycopg2

        conn = psycopg2.connect(db.replace("postgresql+psycopg2://", "postgresql://"))
        mark = "%s"
        serial = "SERIAL"
    else:
        conn = sqlite3.connect(db.removeprefix("sqlite:///"))
        # The same durability the services run SQLite with (WAL, synchronous=NORMAL: see common/db.py).
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        mark = "?"
        serial = "INTEGER"
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS floor_claims")
    cur.execute(
        f"CREATE TABLE floor_claims (id {serial} PRIMARY KEY, record_index INTEGER NOT NULL, ma_lk VARCHAR(100),"
        " ma_the_bhyt VARCHAR(255), t_bhtt NUMERIC(18, 2), lines INTEGER NOT NULL)"
    )
    conn.commit()
    values = "%s" if mark == "%s" else f"({', '.join([mark] * 5)})"
    sql = f"INSERT INTO floor_claims (record_index, ma_lk, ma_the_bhyt, t_bhtt, lines) VALUES {values}"
    return conn, sql


def _insert(conn: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    cur = conn.cursor()
    if isinstance(conn, sqlite3.Connection):
        cur.executemany(sql, rows)
    else:
        from psycopg2.extras import execute_values

        # The idiomatic bulk insert of psycopg2: executemany would be one round trip per row.
        execute_values(cur, sql, rows, page_size=BATCH)
    conn.commit()


def run(path: Path | str, db: str) -> dict[str, Any]:
    """Read the whole file into `floor_claims` of `db`; returns counts, seconds and records/s."""
    conn, sql = _connect(db)
    cur = conn.cursor()
    rows: list[tuple[Any, ...]] = []
    records = lines = 0
    started, cpu = time.perf_counter(), time.process_time()
    with open(path, "rb") as fh:
        for _, hoso in etree.iterparse(fh, events=("end",), tag="HOSO", resolve_entities=False, no_network=True):
            ma_lk = card = t_bhtt = None
            n_lines = 0
            for fh_el in hoso.iterchildren("FILEHOSO"):
                kind = fh_el.findtext("LOAIHOSO")
                if kind not in _INNER:
                    continue
                root = etree.fromstring(binascii.a2b_base64(fh_el.findtext("NOIDUNGFILE") or ""))
                if kind == "XML1":
                    ma_lk, card, t_bhtt = root.findtext("MA_LK"), root.findtext("MA_THE_BHYT"), root.findtext("T_BHTT")
                else:
                    n_lines += sum(1 for _ in root.iter("CHI_TIET_THUOC", "CHI_TIET_DVKT"))
            rows.append((records, ma_lk, card, t_bhtt, n_lines))  # T_BHTT as its decimal string: exact
            records += 1
            lines += n_lines
            # Constant memory, as any streaming reader must do it.
            hoso.clear()
            while hoso.getprevious() is not None:
                del hoso.getparent()[0]
            if len(rows) >= BATCH:
                _insert(conn, sql, rows)
                rows = []
    if rows:
        _insert(conn, sql, rows)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    cur.execute("SELECT count(*) FROM floor_claims")
    stored = cur.fetchone()[0]
    conn.close()
    return {
        "records": records,
        "stored": stored,
        "lines": lines,
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "records_per_s": round(records / seconds) if seconds else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--db", help="sqlite:///path or postgresql://…; default a SQLite file next to FILE")
    args = p.parse_args(argv)
    db = args.db or f"sqlite:///{Path(args.file).with_suffix('.floor.db')}"
    print(json.dumps(run(args.file, db)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
