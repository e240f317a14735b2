"""Request and response schemas of api/reconciliation.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.contracts import claims as contract


class ReconciliationQuery(Schema):
    facility = fields.String(
        validate=contract.FACILITY, metadata={"description": "MA_CSKCB; every facility in scope when absent"}
    )
    period = fields.String(
        required=True, validate=validate.Regexp(r"^\d{4}-Q[1-4]$", error="Kỳ phải có dạng YYYY-Qn, ví dụ 2024-Q3.")
    )


class ReconciliationAnswerV1(contract.ReconciliationV1):
    """The contract's reconciliation, and beside it the quarter's settlement steps (finance)."""

    settlement = fields.Dict(
        metadata={"description": "one facility: its report, result and steps {report, advance, result, payment}"}
    )
    overdue = fields.List(
        fields.Dict(),
        metadata={"description": "[{facility_code, step, due, date, late, overdue}] past their due date today"},
    )
    settlement_unavailable = fields.Boolean(metadata={"description": "true when finance did not answer"})
