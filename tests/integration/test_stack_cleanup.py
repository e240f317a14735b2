"""A test process killed outright leaves no `ytcs run` stack behind (tests/support/infra.py `Stack.start`).

A test worker killed by a timeout or by hand never runs its fixtures' teardown. Its stacks (a supervisor, four
services, gunicorn) would otherwise go on running, holding ports, connections and memory for the next run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.infra import ROOT, rabbit_vhost

pytestmark = pytest.mark.rabbit


def _alive(pid: int) -> bool:
    """Running, and not a zombie that nobody reaps (a container's first process may not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_a_stack_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    with rabbit_vhost() as uri:
        # The parent a test worker would be: it starts a stack, says the supervisor's pid, and waits.
        script = textwrap.dedent(f"""
            import time
            from pathlib import Path
            from tests.support.infra import Stack
            stack = Stack(Path({str(tmp_path / "var")!r}), {uri!r})
            stack.start()
            print(stack.proc.pid, flush=True)
            time.sleep(600)
        """)
        parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        supervisor = 0
        try:
            line = parent.stdout.readline() if parent.stdout else ""
            assert line.strip().isdigit(), f"the stack did not start: {(tmp_path / 'var' / 'stack.log').read_text()}"
            supervisor = int(line)
            services = _children(supervisor)
            assert len(services) >= 4, services  # finance, investment, claims (and its intake), the gateway

            parent.kill()
            parent.wait()

            deadline = time.monotonic() + 60  # the supervisor's own stop deadline is 25 s
            while time.monotonic() < deadline and any(_alive(p) for p in (supervisor, *services)):
                time.sleep(0.5)
            left = [p for p in (supervisor, *services) if _alive(p)]
            assert left == [], f"still running after the parent was killed: {left}"
            assert "ytcs: stopped" in (tmp_path / "var" / "stack.log").read_text()  # a clean stop, not a crash
        finally:
            if parent.poll() is None:
                parent.kill()
            if supervisor and _alive(supervisor):
                os.kill(supervisor, signal.SIGKILL)
