"""Request and response schemas of api/investment.py (the OpenAPI document's shapes, and what its views load)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.common.contracts import investment as contract
from services.common.contracts.fields import Id, Year
from services.gateway.api.schemas.finance import ImportedRow
from services.gateway.application.investment import STATUSES


def _unit_field() -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=10), metadata={"description": "Mã đơn vị (tỉnh, huyện, xã)"}
    )


def _year_field(**kw: Any) -> fields.Integer:
    return Year(**kw)  # 2000 … 2100, the contracts' one year range


class ProjectQuery(Schema):
    station = fields.String(validate=validate.Length(min=1, max=10), metadata={"description": "Mã xã của trạm"})
    unit = _unit_field()
    status = fields.String(validate=validate.OneOf(STATUSES, error="Trạng thái không hợp lệ."))
    plan_id = Id(error_messages={"invalid": "Phải là số nguyên."})
    item_code = fields.String(validate=validate.Length(min=1, max=20))


class UnitQuery(Schema):
    unit = _unit_field()


class PriorityQuery(Schema):
    year = _year_field(metadata={"description": "Năm lập danh sách; mặc định năm sau"})
    unit = _unit_field()


class FundingTreeQuery(Schema):
    plan_id = Id(required=True, error_messages={"invalid": "Phải là số nguyên."})
    year = _year_field()
    unit = _unit_field()


class FundingQuery(FundingTreeQuery):
    item_code = fields.String(required=True, validate=validate.Length(min=1, max=20))


class TargetsQuery(Schema):
    plan_id = Id(required=True, error_messages={"invalid": "Phải là số nguyên."})
    year = _year_field(metadata={"description": "Mặc định năm nay"})
    unit = _unit_field()


class Items(Schema):
    items = fields.List(fields.Dict(), required=True)


class ProjectList(Schema):
    items = fields.List(fields.Nested(contract.ProjectOut), required=True)


class DisbursementTemplateQuery(Schema):
    unit = _unit_field()
    plan_id = Id(
        error_messages={"invalid": "Phải là số nguyên."}, metadata={"description": "only this plan's projects"}
    )


class ProjectImportedPayment(ImportedRow):
    id = fields.Integer(metadata={"description": "the project disbursement the row is", "example": 88})


class ProjectDisbursementImport(Schema):
    """What an import of the project payment template recorded: each row's disbursement, new or already there."""

    recorded = fields.Integer(metadata={"description": "rows recorded as new disbursements", "example": 14})
    already_recorded = fields.Integer(
        metadata={
            "description": "vouchers investment already held (the sheet sent again): not paid twice",
            "example": 0,
        }
    )
    rows = fields.List(fields.Nested(ProjectImportedPayment))
