"""The claims validation rulebook: every issue code and every rule by table and field, with its severity, legal
basis and Vietnamese message, as the claims service's catalogue holds it (the one source of truth; the rulebook
of docs/claims-validation.md is written from the same catalogue)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.common.contracts import claims as contract
from services.gateway.api.common import rpc
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.openapi import doc

bp = Blueprint("claims_rules", __name__, url_prefix="/api/v1/claims")

EXAMPLE = {
    "codes": [
        {"code": "t_bhtt_gdv_mismatch", "severity": "warning", "message": "{where}{shown} khác {rule} ({expected}); …"}
    ],
    "items": [
        {
            "code": "date_order",
            "table": "XML1",
            "field": "NGAY_VAO_NOI_TRU",
            "severity": "critical",
            "check": "NGAY_VAO_NOI_TRU ≥ NGAY_VAO",
            "basis": "QĐ 130/QĐ-BYT, sửa đổi bởi QĐ 4750/QĐ-BYT Bảng 1",
            "message": "{where}: thứ tự ngày không hợp lệ, {detail}",
        }
    ],
}


@bp.get("/rules")
@allow(*READ_ROLES)
@doc(response=contract.ClaimRulesV1, example=EXAMPLE)
def rules() -> Any:
    """The validation rulebook of claim files: codes, severities, rules by table and field, legal basis."""
    return jsonify(rpc("claims", "rules"))
