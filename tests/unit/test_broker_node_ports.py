"""The private broker node's ports (services/common/broker_node.py): AMQP, Erlang distribution and epmd must
differ, or the node clashes with itself on a fresh machine's `make run`."""

from __future__ import annotations

from services.common.broker_node import free_ports


def test_ports_taken_together_are_all_distinct() -> None:
    # Probed one after another the kernel may repeat a port (seen in the suite: two services given one port);
    # among 500 such probes a repeat is all but certain, so this fails unless the probes are held together.
    ports = free_ports(500)
    assert len(set(ports)) == 500
    assert all(1024 < p < 65536 for p in ports)
