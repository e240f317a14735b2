"""BHYT capitation writes (definitions in docs/domain.md): the fund, advances, settlements and the quarter's
steps (report, result, payment). Each names a facility the caller must see (facilities.require_facility) and is
recorded by the finance service. The API's capitation endpoints and the capitation quarter page call these."""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import Schema

from services.common.contracts.finance import (
    AdvanceCommandV1,
    CapitationFundCommandV1,
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
    SettlementCommandV1,
)
from services.gateway.application.facilities import require_facility
from services.gateway.application.remote import rpc


def _record(method: str, schema: type[Schema], cmd: dict[str, Any], *extra: Any) -> dict[str, Any]:
    require_facility(cmd["facility_code"])
    return rpc("finance", method, schema().dump(cmd), *extra)


def set_fund(cmd: dict[str, Any]) -> dict[str, Any]:
    """A facility's fund for a year or a quarter (`cmd` loaded by CapitationFundCommandV1)."""
    return _record("set_capitation_fund", CapitationFundCommandV1, cmd)


def pay_advance(cmd: dict[str, Any]) -> dict[str, Any]:
    """An advance (tạm ứng) to a facility for a quarter (`cmd` loaded by AdvanceCommandV1)."""
    return _record("pay_advance", AdvanceCommandV1, cmd)


def settle(cmd: dict[str, Any]) -> dict[str, Any]:
    """A year's settlement or a quarter's provisional one (`cmd` loaded by SettlementCommandV1)."""
    return _record("settle_capitation", SettlementCommandV1, cmd)


def record_report(cmd: dict[str, Any]) -> dict[str, Any]:
    """BHXH received a facility's quarterly report (`cmd` loaded by QuarterlyReportCommandV1); who recorded it is
    kept with it."""
    return _record("record_quarterly_report", QuarterlyReportCommandV1, cmd, g.principal.name)


def record_result(cmd: dict[str, Any]) -> dict[str, Any]:
    """BHXH's assessed result of the quarter (`cmd` loaded by QuarterlyResultCommandV1)."""
    return _record("record_quarterly_result", QuarterlyResultCommandV1, cmd)


def record_payment(cmd: dict[str, Any]) -> dict[str, Any]:
    """A payment, refund or offset of the quarter (`cmd` loaded by QuarterlyPaymentCommandV1)."""
    return _record("record_quarterly_payment", QuarterlyPaymentCommandV1, cmd)
