"""A test process killed outright leaves no `ytcs run` stack behind (tests/support/infra.py `Stack.start`).

A test worker killed by a timeout or by hand never runs its fixtures' teardown. Its stacks (a supervisor, four
services, gunicorn) would otherwise go on running, holding ports, connections and memory for the next run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tests.support.infra import ROOT, rabbit_vhost, running

pytestmark = pytest.mark.rabbit


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
        supervisor = None
        try:
            line = parent.stdout.readline() if parent.stdout else ""
            assert line.strip().isdigit(), f"the stack did not start: {(tmp_path / 'var' / 'stack.log').read_text()}"
            supervisor = psutil.Process(int(line))
            stack = [supervisor, *supervisor.children(recursive=True)]
            assert len(stack) >= 5, stack  # ytcs run; finance, investment, claims (and its intake), the gateway

            parent.kill()
            parent.wait()

            deadline = time.monotonic() + 60  # the supervisor's own stop deadline is 25 s
            while time.monotonic() < deadline and running(stack):
                time.sleep(0.5)
            assert running(stack) == [], "still running after the parent was killed"
            assert "ytcs: stopped" in (tmp_path / "var" / "stack.log").read_text()  # a clean stop, not a crash
        finally:
            if parent.poll() is None:
                parent.kill()
            if supervisor is not None and running([supervisor]):
                supervisor.kill()
