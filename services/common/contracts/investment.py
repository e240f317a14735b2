"""Investment service messages: station projects, their capital (giao vốn) and disbursement."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.contracts.fields import VND


class ProjectRegisteredV1(Schema):
    project_id = fields.Integer(required=True)
    station_code = fields.String(required=True)
    kind = fields.String(required=True)
    plan_id = fields.Integer(required=True)
    item_code = fields.String(required=True)
    estimated_cost = VND(required=True)


class CapitalAssignedV1(Schema):
    capital_id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    source = fields.String(required=True)
    fiscal_year = fields.Integer(required=True)
    amount = VND(required=True)


class ProjectDisbursedV1(Schema):
    disbursement_id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    source = fields.String(required=True)
    amount = VND(required=True)
    date = fields.Date(required=True)


class ProjectCompletedV1(Schema):
    project_id = fields.Integer(required=True)
    settled_cost = VND(required=True)
    completed_on = fields.Date(required=True)


class StationCriteriaReachedV1(Schema):
    station_code = fields.String(required=True)
    criterion = fields.String(required=True)
    year = fields.Integer(required=True)


EVENTS = {
    "project_registered": (1, ProjectRegisteredV1),
    "capital_assigned": (1, CapitalAssignedV1),
    "project_disbursed": (1, ProjectDisbursedV1),
    "project_completed": (1, ProjectCompletedV1),
    "station_criteria_reached": (1, StationCriteriaReachedV1),
}
