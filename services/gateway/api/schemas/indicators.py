"""Request and response schemas of api/indicators.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.contracts.fields import Year


class YearQuery(Schema):
    station_valid_from = fields.Date(metadata={"description": "Which version of a reused commune code"})


class SheetQuery(Schema):
    unit = fields.String(metadata={"description": "Mã huyện hoặc xã (mặc định: đơn vị của người dùng, hoặc cả tỉnh)"})
    year = Year(required=True, metadata={"example": 2024})


class ImportQuery(Schema):
    year = Year(metadata={"description": "Năm của số liệu; phải trùng năm ghi trong tệp"})
