"""What every fault test proves afterwards, and the means to drive a stack through a claim file.

`Expected` is computed from the generated file itself (an lxml read of every XML1 summary, independent of
the intake's parser and validators), then cross-checked with the generator's own summary.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import requests
from lxml import etree
from sqlalchemy import create_engine, text

from services.common.periods import Quarter
from services.devtools import claims_generator as generator
from tests.support.infra import Stack

# Critical faults that keep MA_LK and the period intact, so the rejected records are easy to name.
FAULTS = {"card_format": 4, "date_order": 3, "amount_mismatch": 3}


@dataclass
class Expected:
    facility: str
    period: str
    total: int
    accepted: int
    t_bhtt: Decimal = Decimal("0.00")
    spend: Decimal = Decimal("0.00")  # Σ line T_BHTT with MA_PTTT = 2 (capitation) of the accepted claims
    ma_lks: set[str] = field(default_factory=set)
    # Of those, the cards registered at the facility (the first MA_DKBD; none: the treating facility): the level
    # against its fund that finance hears (capitation by registration, NĐ 146 Điều 25 k2; issue 16).
    registered_spend: Decimal = Decimal("0.00")
    registered_claims: int = 0

    @property
    def rejected(self) -> int:
        return self.total - self.accepted


def make_file(path: Path, facility: str, records: int, seed: int) -> Expected:
    """Generate a claim file of `records` (one quarter, a few planted faults) and what must come of it."""
    with open(path, "wb") as out:
        summary = generator.generate(
            out, facility=facility, records=records, year=2024, months=[7, 8, 9], seed=seed, faults=FAULTS
        )
    exp = independent_totals(path, set(summary.fault_index))
    # The generator's bookkeeping and our own read of the bytes must agree before the file is sent.
    assert (exp.total, exp.accepted) == (summary.records, summary.accepted)
    assert summary.totals[(facility, exp.period)].t_bhtt == exp.t_bhtt
    assert summary.totals[(facility, exp.period)].capitation == exp.spend
    assert exp.facility == facility
    return exp


def _capitation_lines(hoso: etree._Element) -> Decimal:
    """Σ T_BHTT of the XML2/XML3 lines with MA_PTTT = 2 of one HOSO, read independently of the service."""
    total = Decimal("0.00")
    for f in hoso.iter("FILEHOSO"):
        if f.findtext("LOAIHOSO").strip() in ("XML2", "XML3"):
            table = etree.fromstring(base64.b64decode(f.findtext("NOIDUNGFILE")))
            for line in table.iter("CHI_TIET_THUOC", "CHI_TIET_DVKT"):
                if (line.findtext("MA_PTTT") or "").strip() == "2":
                    total += Decimal(line.findtext("T_BHTT"))
    return total


def independent_totals(path: Path, faulted: set[int]) -> Expected:
    """Read the envelope with lxml, decode each XML1 and sum T_BHTT of the records without a planted fault."""
    facility = None
    periods: set[str] = set()
    exp: Expected | None = None
    index = 0
    for _event, el in etree.iterparse(str(path), events=("end",), tag=("MACSKCB", "HOSO"), huge_tree=True):
        if el.tag == "MACSKCB":
            facility = el.text.strip()
            exp = Expected(facility, "", 0, 0)
            continue
        assert exp is not None
        xml1 = next(f for f in el.iter("FILEHOSO") if f.findtext("LOAIHOSO").strip() == "XML1")
        x = etree.fromstring(base64.b64decode(xml1.findtext("NOIDUNGFILE")))
        exp.total += 1
        if index not in faulted:
            exp.accepted += 1
            t_bhtt = Decimal(x.findtext("T_BHTT"))
            exp.t_bhtt += t_bhtt
            capitation = _capitation_lines(el)
            exp.spend += capitation
            exp.ma_lks.add(x.findtext("MA_LK"))
            if ((x.findtext("MA_DKBD") or "").split(";")[0].strip() or facility) == facility:
                exp.registered_spend += capitation
                exp.registered_claims += 1
            periods.add(str(Quarter.of_month(int(x.findtext("NAM_QT")), int(x.findtext("THANG_QT")))))
        index += 1
        el.clear()
    assert exp is not None and facility and len(periods) == 1
    exp.period = periods.pop()
    return exp


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(stack: Stack, token: str, path: Path) -> dict:
    with open(path, "rb") as fh:
        r = requests.post(
            stack.url + "/api/v1/claims/files",
            data=fh,
            headers={**auth(token), "Content-Type": "application/xml"},
            timeout=300,
        )
    assert r.status_code == 202, r.text
    return r.json()


def file_status(stack: Stack, token: str, file_id: int) -> dict | None:
    """The file's status, or None while the gateway or the claims service cannot answer (a fault is on)."""
    try:
        r = requests.get(stack.url + f"/api/v1/claims/files/{file_id}", headers=auth(token), timeout=15)
    except requests.RequestException:
        return None
    return r.json() if r.status_code == 200 else None


def log_tail(stack: Stack, lines: int = 12) -> str:
    """The stack's last warnings and errors, for a failure message (the temp folder may be gone by then)."""
    try:
        text_ = stack.log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    noisy = [ln[:400] for ln in text_ if '"level": "error"' in ln or '"level": "warning"' in ln or "ytcs:" in ln]
    return "\n".join(noisy[-lines:])


def wait_progress(stack: Stack, token: str, file_id: int, at_least: int, timeout: float = 180) -> dict:
    """Until `at_least` records of the file are committed (the fault must strike mid-file, not before or after)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = file_status(stack, token, file_id)
        if st is not None:
            done = st["records"]["accepted"] + st["records"]["rejected"]
            assert st["status"] == "processing", f"file finished before the fault: {st['records']}"
            if done >= at_least:
                return st
        time.sleep(0.2)
    raise AssertionError(f"file {file_id} did not reach {at_least} records in {timeout}s\n{log_tail(stack)}")


def wait_done(stack: Stack, token: str, file_id: int, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        st = file_status(stack, token, file_id)
        if st is not None:
            last = st
            if st["status"] != "processing":
                return st
        time.sleep(0.5)
    raise AssertionError(
        f"file {file_id} still not finished after {timeout}s: {last and last['records']}\n{log_tail(stack)}"
    )


def db_url(stack: Stack, service: str) -> str:
    return stack.env.get(f"{service.upper()}_DB_URL") or f"sqlite:///{stack.var / (service + '.db')}"


def row(stack: Stack, service: str, sql: str, **params: object) -> tuple | None:
    """One row of a query on a service's own database (read-only; a fresh connection each time)."""
    engine = create_engine(db_url(stack, service).replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as conn:
            found = conn.execute(text(sql), params).first()
            return tuple(found) if found is not None else None
    finally:
        engine.dispose()


def scalar(stack: Stack, service: str, sql: str, **params: object) -> object:
    found = row(stack, service, sql, **params)
    return found[0] if found else None


def wait_outboxes_empty(stack: Stack, timeout: float = 60) -> None:
    """Nothing left unsent in any service's outbox (the relay may need a moment after a fault)."""
    deadline = time.monotonic() + timeout
    unsent: dict[str, object] = {}
    while time.monotonic() < deadline:
        unsent = {
            s: scalar(stack, s, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            for s in ("finance", "claims", "investment")
        }
        if not any(unsent.values()):
            return
        time.sleep(0.5)
    raise AssertionError(f"outbox rows still unsent after {timeout}s: {unsent}")


def assert_counted_once(stack: Stack, token: str, file_id: int, exp: Expected, timeout: float = 180) -> None:
    """The promise after any fault: the file finishes, each record once, sums equal, events delivered, healthy."""
    st = wait_done(stack, token, file_id, timeout)
    assert st["status"] == "done", f"{st}\n{log_tail(stack)}"
    counts = {k: st["records"][k] for k in ("total", "accepted", "rejected", "processed")}
    assert counts == {"total": exp.total, "accepted": exp.accepted, "rejected": exp.rejected, "processed": exp.total}
    # In the database too: one claim row per record of the file, never a second one for a replayed batch.
    rows = scalar(stack, "claims", "SELECT count(*) FROM claims WHERE file_id = :f", f=file_id)
    distinct = scalar(stack, "claims", "SELECT count(DISTINCT record_index) FROM claims WHERE file_id = :f", f=file_id)
    accepted = scalar(
        stack, "claims", "SELECT count(*) FROM claims WHERE facility_code = :c AND status = 'accepted'", c=exp.facility
    )
    assert (rows, distinct, accepted) == (exp.total, exp.total, exp.accepted)
    r = requests.get(
        stack.url + "/api/v1/reconciliation",
        params={"facility": exp.facility, "period": exp.period},
        headers=auth(token),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    claims = r.json()["claims"]
    assert claims["count"] == exp.accepted
    assert Decimal(claims["requested"]) == exp.t_bhtt
    assert Decimal(claims["pending"]) == exp.t_bhtt
    wait_outboxes_empty(stack)
    # The events reached finance exactly as the claims stand: its latest spend report is the independent sum.
    deadline = time.monotonic() + 60
    report = None
    while time.monotonic() < deadline:
        report = row(
            stack,
            "finance",
            "SELECT spend, claims FROM capitation_spend_reports WHERE facility_code = :c AND period = :p "
            "ORDER BY occurred_at DESC, id DESC LIMIT 1",
            c=exp.facility,
            p=exp.period,
        )
        if report is not None:
            break
        time.sleep(0.5)
    assert report is not None, "finance never heard of the file's capitation spend"
    level = (Decimal(str(report[0])).quantize(Decimal("0.01")), int(report[1]))
    assert level == (exp.registered_spend, exp.registered_claims)
    health = stack.wait_healthy(timeout=90)
    assert health["status"] == "ok"


def pids_of(stack: Stack, needle: str) -> list[int]:
    """Processes of THIS stack (others run beside it) whose command line contains `needle`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            env = (proc / "environ").read_bytes()
        except OSError:
            continue
        if needle in cmd and f"YTCS_VAR={stack.var}\0".encode() in env:
            pids.append(int(proc.name))
    return pids


def parent_of(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
