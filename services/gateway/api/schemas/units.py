"""Request and response schemas of api/units.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.contracts.fields import Year
from services.common.contracts.finance import SourceFiguresV1


class UnitFundingQuery(Schema):
    year = Year(metadata={"description": "fiscal year; all years when absent", "example": 2025})
    as_of = fields.Date(
        metadata={
            "description": "the map the year is seen in: the unit `code` names that day and the units merged "
            "into it by then. Default 31/12 of the year (today for the running year, or for all years); a "
            "later date shows an older year in the newer units (2025-07-01: the 48 units of tỉnh An Giang)",
            "example": "2025-12-31",
        }
    )


class PredecessorV1(Schema):
    code = fields.String()
    name = fields.String(metadata={"description": "its name when it ended (or today's, for the unit itself)"})
    valid_to = fields.Date(allow_none=True)
    allocated = fields.Integer()
    disbursed = fields.Integer()


class PartV1(Schema):
    allocated = fields.Integer()
    disbursed = fields.Integer()


class UnitFundingAnswerV1(Schema):
    unit = fields.String(metadata={"example": "31064"})
    name = fields.String(metadata={"example": "Xã Vĩnh Bình"})
    level = fields.String(metadata={"description": "province | district | commune"})
    year = fields.Integer(allow_none=True)
    as_of = fields.Date()
    allocated = fields.Integer(metadata={"description": "VND: finance allocations + project capital"})
    disbursed = fields.Integer()
    execution_rate = fields.String(allow_none=True, metadata={"description": '"0.4523" or null'})
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(SourceFiguresV1))
    by_year = fields.Dict(keys=fields.String(), values=fields.Nested(SourceFiguresV1))
    carried_over_in = fields.Integer(
        metadata={"description": "VND chuyển nguồn vào the year (finance, docs/finance.md \"Budget year end\")"}
    )
    carried_over_out = fields.Integer(metadata={"description": "VND chuyển nguồn ra to the next year"})
    closed = fields.Integer(metadata={"description": "VND lapsed at quyết toán"})
    year_end_by_year = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={"description": "per year"})
    parts = fields.Dict(
        keys=fields.String(), values=fields.Nested(PartV1), metadata={"description": "finance, investment"}
    )
    by_unit = fields.List(
        fields.Nested(PredecessorV1),
        metadata={
            "description": "the unit and its predecessors, each share where the services place it: finance by "
            "recipient; investment by the station its figure belongs to in that year (a year's capital at the "
            "unit in force at the year's end, a payment at the station in force on its day)"
        },
    )
    by_item = fields.List(fields.Dict(), metadata={"description": "finance's rows by plan item, each with its unit"})
