"""The gateway's RPC client over the real broker: the request's correlation id rides in every call's headers,
the services' refusals arrive as themselves with their own status, and a crash or an absent service is
`Unavailable` of that service."""

from __future__ import annotations

import json

import pytest

from services.common.errors import Conflict, Malformed, NotFound
from services.gateway.clients import ServiceClients
from services.gateway.errors import Unavailable
from tests.integration.gateway.fake_services import FakeService, running


class Refused(Exception):
    """A refusal as a nameko service serialises it: the error kind's path, its args stringified."""

    def __init__(self, kind: type[Exception], code: str, status: int) -> None:
        errors = [{"field": None, "code": code, "message": "Từ chối."}]
        super().__init__(code)
        self.wire = {
            "exc_type": kind.__name__,
            "exc_path": f"{kind.__module__}.{kind.__name__}",
            "exc_args": [json.dumps(errors), str(status)],
            "value": code,
        }


def test_the_correlation_id_of_the_request_rides_in_every_call(gw_amqp):
    echo = FakeService(gw_amqp, "finance", {"ping": lambda: "pong"})
    clients = ServiceClients(amqp_uri=gw_amqp, timeout=5)
    with running(echo):
        clients.set_correlation_id("req-41")
        assert clients.call("finance", "ping") == "pong"
        clients.set_correlation_id("req-42")
        assert clients.call("finance", "ping") == "pong"
        clients.set_correlation_id(None)
        assert clients.call("finance", "ping") == "pong"
    found = [h.get("nameko.correlation_id") for h in echo.headers]
    assert found == ["req-41", "req-42", None]


def test_each_call_of_a_keyed_request_carries_its_own_command_key(gw_amqp):
    """The same request sent again makes the same calls under the same keys (services/common/answers.py)."""
    finance = FakeService(gw_amqp, "finance", {"read": lambda: 1, "write": lambda: 2})
    claims = FakeService(gw_amqp, "claims", {"write": lambda: 3})
    clients = ServiceClients(amqp_uri=gw_amqp, timeout=5)
    with running(finance, claims):
        for _ in range(2):  # the request, then the same request again
            clients.set_command_key("k1")
            clients.call("finance", "read")
            clients.fan_out({"a": ("finance", "write", (), {}), "b": ("claims", "write", (), {})})
            clients.call("finance", "write")
        clients.set_command_key(None)  # a request without an Idempotency-Key
        clients.call("finance", "write")
    keys = [h.get("nameko.command_key") for h in finance.headers]
    assert keys == ["k1:finance.read:1", "k1:finance.write:1", "k1:finance.write:2"] * 2 + [None]
    assert [h.get("nameko.command_key") for h in claims.headers] == ["k1:claims.write:1"] * 2


@pytest.mark.parametrize(("kind", "status"), [(Conflict, 409), (Malformed, 400), (NotFound, 404)])
def test_a_services_refusal_arrives_as_its_own_kind_with_its_status(gw_amqp, kind, status):
    def refuse() -> None:
        raise Refused(kind, "refused_here", status)

    service = FakeService(gw_amqp, "investment", {"write": refuse})
    clients = ServiceClients(amqp_uri=gw_amqp, timeout=5)
    with running(service), pytest.raises(kind) as caught:
        clients.call("investment", "write")
    assert caught.value.status == status and caught.value.errors[0]["code"] == "refused_here"


def test_a_crash_is_the_service_unavailable_and_the_other_calls_still_answer(gw_amqp):
    def crash() -> None:
        raise ValueError("boom")

    finance = FakeService(gw_amqp, "finance", {"ok": lambda: 1})
    claims = FakeService(gw_amqp, "claims", {"crash": crash})
    clients = ServiceClients(amqp_uri=gw_amqp, timeout=5)
    with running(finance, claims):
        out = clients.fan_out(
            {"a": ("finance", "ok", (), {}), "b": ("claims", "crash", (), {}), "c": ("claims", "missing", (), {})}
        )
    assert out["a"] == 1
    assert isinstance(out["b"], Unavailable) and (out["b"].service, out["b"].kind) == ("claims", "error")
    assert isinstance(out["c"], Unavailable) and out["c"].kind == "method_not_found"
