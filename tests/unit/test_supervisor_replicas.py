"""`ytcs run` starts N claims replicas (YTCS_CLAIMS_REPLICAS / --replicas), each on a metrics port of its own."""

from __future__ import annotations

import pytest

from services import supervisor


def test_one_claims_process_by_default(monkeypatch) -> None:
    monkeypatch.delenv("YTCS_CLAIMS_REPLICAS", raising=False)
    names = [c.name for c in supervisor.children()]
    assert names.count("claims") == 1 and not any(n.startswith("claims#") for n in names)


def test_replicas_compete_on_the_same_service_with_their_own_metrics_port(monkeypatch) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_REPLICAS", "3")
    monkeypatch.setenv("CLAIMS_METRICS_PORT", "9102")
    kids = {c.name: c for c in supervisor.children()}
    assert {"claims", "claims#2", "claims#3", "finance", "investment", "gateway"} == set(kids)
    assert kids["claims#2"].argv == kids["claims"].argv  # the same service: nameko's queues are shared
    assert [kids[n].env.get("CLAIMS_METRICS_PORT") for n in ("claims", "claims#2", "claims#3")] == [
        None,
        "9202",
        "9302",
    ]


@pytest.mark.parametrize("bad", ["0", "x", "17"])
def test_a_bad_replica_count_is_refused(monkeypatch, bad) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_REPLICAS", bad)
    with pytest.raises(SystemExit):
        supervisor.children()


def test_cli_option_sets_the_variable(monkeypatch) -> None:
    import services.supervisor as sup
    from services import cli

    seen = {}
    monkeypatch.setenv("YTCS_CLAIMS_REPLICAS", "1")  # restored after the test, whatever the CLI writes
    monkeypatch.setattr(sup, "run", lambda: seen.setdefault("n", supervisor.claims_replicas()) and 0)
    cli.main(["run", "--replicas", "2"])
    assert seen["n"] == 2
