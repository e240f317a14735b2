"""One large claim file shared out in chunks among two claims replicas, while one replica is killed (SIGKILL) in
the middle of a chunk and the broker is restarted: the file still ends `done` with every record counted exactly
once (services/claims/intake.py; issue 19).

    .venv/bin/pytest -q -p no:cacheprovider tests/faults/test_chunked.py

A stack of its own (two claims processes, chunks of 5,000 records) on its own vhost of the private node and its
own databases of the private cluster, so the other fault tests' services never see its messages.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from lxml import etree

from tests.faults.checks import (
    Expected,
    _capitation_lines,
    auth,
    make_file,
    pids_of,
    row,
    scalar,
    upload,
    wait_done,
    wait_outboxes_empty,
    wait_progress,
)
from tests.faults.infra import PrivatePostgres, PrivateRabbit
from tests.support.infra import Stack

pytestmark = [pytest.mark.slow, pytest.mark.rabbit, pytest.mark.postgres]

RECORDS = int(os.environ.get("YTCS_FAULT_CHUNKED_RECORDS", "50000"))
CHUNK = 5000


@pytest.fixture(scope="module")
def chunk_stack(private_rabbit: PrivateRabbit, private_pg: PrivatePostgres) -> Iterator[Stack]:
    vhost = "ytcs-chunks"
    private_rabbit.ctl("add_vhost", vhost)
    private_rabbit.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    dbs = {s: private_pg.create_database(f"ytcs_{s}_chunks") for s in ("finance", "claims", "investment", "gateway")}
    with tempfile.TemporaryDirectory(prefix="ytcs-fault-chunks-") as var:
        stack = Stack(Path(var), private_rabbit.uri + vhost, dbs)
        stack.env.update(
            YTCS_CLAIMS_REPLICAS="2",
            YTCS_CLAIMS_CHUNK_RECORDS=str(CHUNK),
            YTCS_CLAIMS_LEASE_SECONDS="15",  # as the other fault tests: a dead worker's chunk is free sooner
        )
        stack.start(timeout=180)
        try:
            yield stack
        finally:
            stack.stop()


def _registered_spend(path: Path, facility: str, accepted: set[str]) -> tuple[Decimal, int]:
    """Σ capitation lines (MA_PTTT = 2) and count of the accepted claims (by MA_LK) whose card is registered at
    `facility` (the first MA_DKBD, none: the treating facility), read from the bytes with lxml: the level finance
    must hear for the facility-quarter (capitation by registration, issue 16)."""
    spend, claims = Decimal("0.00"), 0
    for _event, el in etree.iterparse(str(path), events=("end",), tag="HOSO", huge_tree=True):
        xml1 = next(f for f in el.iter("FILEHOSO") if f.findtext("LOAIHOSO").strip() == "XML1")
        x = etree.fromstring(base64.b64decode(xml1.findtext("NOIDUNGFILE")))
        registered = ((x.findtext("MA_DKBD") or "").split(";")[0].strip()) or facility
        if x.findtext("MA_LK") in accepted and registered == facility:
            spend += _capitation_lines(el)
            claims += 1
        el.clear()
    return spend, claims


def _assert_counted_once(stack: Stack, token: str, file_id: int, exp: Expected, path: Path) -> None:
    """What `checks.assert_counted_once` proves, with finance's capitation level by the cards' registration."""
    st = wait_done(stack, token, file_id, timeout=240)
    assert st["status"] == "done", st
    counts = {k: st["records"][k] for k in ("total", "accepted", "rejected", "processed")}
    assert counts == {"total": exp.total, "accepted": exp.accepted, "rejected": exp.rejected, "processed": exp.total}
    # In the database: one claim row per record, never a second one for a replayed batch or chunk.
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
    assert (claims["count"], Decimal(claims["requested"]), Decimal(claims["pending"])) == (
        exp.accepted,
        exp.t_bhtt,
        exp.t_bhtt,
    )
    assert Decimal(claims["by_payment_method"]["capitation"]) == exp.spend
    wait_outboxes_empty(stack)
    spend, registered = _registered_spend(path, exp.facility, exp.ma_lks)
    assert Decimal(r.json()["capitation"]["spend"]) == spend
    report = None
    deadline = time.monotonic() + 60
    while report is None and time.monotonic() < deadline:
        report = row(
            stack,
            "finance",
            "SELECT spend, claims FROM capitation_spend_reports WHERE facility_code = :c AND period = :p "
            "ORDER BY occurred_at DESC, id DESC LIMIT 1",
            c=exp.facility,
            p=exp.period,
        )
        time.sleep(0.5)
    assert report is not None, "finance never heard of the file's capitation spend"
    assert (Decimal(str(report[0])).quantize(Decimal("0.01")), int(report[1])) == (spend, registered)
    assert stack.wait_healthy(timeout=90)["status"] == "ok"


def _loaders(stack: Stack, file_id: int) -> dict[int, set[int]]:
    """chunk -> the pids that logged loading it (the lease owner is host:pid:nonce)."""
    out: dict[int, set[int]] = {}
    pattern = re.compile(rf"claims file {file_id} chunk (\d+) \(records \d+-\d+\) loaded by [^:]+:(\d+):")
    for line in stack.log.read_text(errors="replace").splitlines():
        if "loaded by" not in line:
            continue
        try:
            message = json.loads(line).get("message", "")
        except ValueError:
            continue
        if m := pattern.search(message):
            out.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    return out


def test_replica_killed_mid_chunk_and_broker_restarted(
    chunk_stack: Stack, private_rabbit: PrivateRabbit, tmp_path: Path
) -> None:
    stack = chunk_stack
    token = stack.token("admin")
    exp = make_file(tmp_path / "big.xml", "91075", RECORDS, seed=15)
    file_id = upload(stack, token, tmp_path / "big.xml")["id"]
    chunks = -(-RECORDS // CHUNK)
    replicas = pids_of(stack, "services.common.runner claims")
    assert len(replicas) == 2, replicas

    # 1. Both replicas are loading chunks; one of them is killed in the middle of its chunk.
    wait_progress(stack, token, file_id, RECORDS // 5)
    victim = replicas[0]
    os.kill(victim, signal.SIGKILL)
    before_kill = {c for c, pids in _loaders(stack, file_id).items() if pids}
    assert len(before_kill) < chunks

    # 2. Further on, the broker goes away and comes back (unacknowledged chunk messages are delivered again).
    wait_progress(stack, token, file_id, RECORDS // 2)
    private_rabbit.stop()
    time.sleep(3)
    private_rabbit.start()

    # 3. Done, every record once: the file's counters, one claim row per record, the kept totals and finance's
    #    capitation spend all equal the sums read independently from the generated bytes; events all sent.
    _assert_counted_once(stack, token, file_id, exp, tmp_path / "big.xml")
    done = row(
        stack,
        "claims",
        "SELECT count(*), sum(accepted), sum(rejected), sum(\"end\" - first), count(*) FILTER (WHERE status = 'done') "
        "FROM file_chunks WHERE file_id = :f",
        f=file_id,
    )
    assert done == (chunks, exp.accepted, exp.rejected, RECORDS, chunks)
    # The work was shared: chunks were loaded by more than one process (the victim, the survivor, its successor).
    loaders = _loaders(stack, file_id)
    assert set(loaders) == set(range(chunks)), loaders
    assert len(set().union(*loaders.values())) >= 2, loaders
