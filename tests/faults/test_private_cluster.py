"""The fault suite's private PostgreSQL cluster (tests/faults/infra.py) goes when the test process that started it
is killed outright, as `ytcs run` stacks do (tests/integration/test_stack_cleanup.py): a killed run never reaches
its fixtures' teardown, and a daemonised cluster would keep its port, memory and folder for ever."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tests.faults.infra import PrivatePostgres
from tests.support.infra import ROOT, running


def test_the_private_cluster_stops_when_the_process_that_started_it_is_killed() -> None:
    if not PrivatePostgres.available():
        pytest.fail("the fault suite needs PostgreSQL's server binaries (it starts a private cluster)")
    base = Path(tempfile.mkdtemp(prefix="ytcs-fault-pg-kill-"))
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from tests.faults.infra import PrivatePostgres
        pg = PrivatePostgres(Path({str(base)!r}))
        pg.init()
        pg.start()
        print(pg.proc.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    cluster: list[psutil.Process] = []
    try:
        line = parent.stdout.readline() if parent.stdout else ""
        assert line.strip().isdigit(), "the cluster did not start"
        postmaster = psutil.Process(int(line))
        cluster = [postmaster, *postmaster.children()]
        assert postmaster.name() == "postgres" and len(cluster) >= 3, cluster  # checkpointer, writer, ...

        parent.kill()
        parent.wait()

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and running(cluster):
            time.sleep(0.2)
        assert running(cluster) == [], "the cluster outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
        for p in cluster:
            if running([p]):
                p.kill()
        shutil.rmtree(base, ignore_errors=True)

