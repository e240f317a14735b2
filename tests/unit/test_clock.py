"""Today is Việt Nam's date whatever the server's time zone (services/common/clock.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from services.common import clock

ASK = "from services.common import clock; import datetime; print(clock.today(), datetime.date.today())"


def _today_under(tz: str) -> tuple[str, str]:
    env = {**os.environ, "TZ": tz}
    out = subprocess.run([sys.executable, "-c", ASK], env=env, capture_output=True, text=True, check=True)
    ours, servers = out.stdout.split()
    return ours, servers


def test_today_does_not_depend_on_the_servers_time_zone() -> None:
    # UTC−12 and UTC+14 are 26 hours apart: their own dates always differ, so a "today" read from the server's
    # zone could not agree under both.
    west, east = _today_under("Etc/GMT+12"), _today_under("Etc/GMT-14")
    assert west[1] != east[1]
    assert west[0] == east[0] == str(clock.today())


def test_a_stored_moment_is_read_on_vietnams_clock() -> None:
    assert clock.in_vietnam(datetime(2024, 12, 31, 17, 0, tzinfo=UTC)).isoformat() == "2025-01-01T00:00:00+07:00"
    assert clock.in_vietnam(datetime(2024, 12, 31, 16, 59)).date().isoformat() == "2024-12-31"  # naive: UTC
