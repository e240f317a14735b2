"""The ports tests give the stacks they start (tests/support/infra.py): never one twice, never one in use, never
one the system derives from another (claims' intake worker: the claims port + 2, its replicas + 100 more)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support import infra


def test_ports_are_distinct_free_and_clear_of_the_ports_the_system_derives() -> None:
    ports = [infra.free_port() for _ in range(60)]
    assert len(set(ports)) == len(ports)
    assert all((p - infra.PORT_BASE) % infra.PORT_STEP == 0 for p in ports)
    derived = {p + 2 + 100 * k for p in ports for k in range(3)}
    assert not derived & set(ports)
    # Below the kernel's ephemeral range: bind(0) and outgoing connections elsewhere never take them.
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert max(ports) < low


def test_a_port_in_use_is_passed_over() -> None:
    # Take the next port this worker would hand out, then ask: the next free one comes instead.
    with socket.socket() as held:
        probe = infra.free_port()  # handed out and not used: a server may now bind it
        held.bind(("127.0.0.1", probe + infra.PORT_STEP))
        held.listen()
        assert infra.free_port() != probe + infra.PORT_STEP
