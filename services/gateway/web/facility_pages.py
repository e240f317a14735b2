"""The facility register on a page (admins): each MA_CSKCB mapped to the unit it serves, and the facilities
that uploaded claim files name but nobody has mapped yet, listed for mapping. Without a mapping, unit-bound
people see none of a facility's claims and the plans' BHYT figures (II.4) stay empty; before this page only
`ytcs facility add` filled the register. Registering here is the API's (POST /api/v1/facilities): the same
schema, the same rules (facilities.register), CSRF and form_key like every page form."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for

from services.common import clock, units
from services.gateway.application import facilities as facility_register
from services.gateway.application.access import allow
from services.gateway.application.facilities import FacilityIn
from services.gateway.application.remote import rpc
from services.gateway.web.common import WRITE_ERRORS, audit_form, bp, form_errors, form_status, page, render, write_form

KINDS_VN = {"station": "Trạm y tế xã", "district_centre": "Trung tâm y tế huyện", "other": "Cơ sở khác"}


def _unit_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Units in force today, grouped for the picker: the province and its districts, then communes by district."""
    top = [(units.PROVINCE_CODE, units.PROVINCE_NAME)] + [(c, d.name) for c, d in units.districts().items()]
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in units.communes_on(clock.today()):
        groups.setdefault(c.district_name, []).append((c.code, f"{c.name}"))
    return [("Tỉnh và huyện", top)] + sorted(groups.items())


def _page(status: int = 200, errors: list[dict[str, Any]] | None = None, form: dict[str, str] | None = None) -> Any:
    registered = facility_register.listing(None)
    try:
        unmapped = rpc("claims", "facilities_seen", [f["code"] for f in registered])
        claims_down = False
    except WRITE_ERRORS:  # the register still shows and takes entries while the claims service is away
        unmapped, claims_down = [], True
    names = {c.code: c.name for c in units.communes()} | {c: d.name for c, d in units.districts().items()}
    return render(
        "facilities.html",
        status,
        registered=registered,
        unmapped=unmapped,
        claims_down=claims_down,
        unit_names=names,
        choices=_unit_choices(),
        kinds=KINDS_VN,
        errors=errors or [],
        form=form or {},
    )


@bp.get("/facilities")
@allow("admin")
@page()
def facilities() -> Any:
    """The facility register, with the MA_CSKCB seen in claim files but not yet mapped to a unit."""
    return _page()


@bp.post("/facilities")
@allow("admin")
@page(body=FacilityIn)
def map_facility() -> Any:
    """Map a facility (MA_CSKCB) to the unit it serves (the same checks as POST /api/v1/facilities)."""
    audit_form()

    def done(out: dict[str, Any]) -> Any:
        g.audit_details["result_id"] = out["code"]
        flash(f"Đã gắn cơ sở KCB {out['code']} với đơn vị {out['unit']}.", "ok")
        return redirect(url_for("web.facilities"), 303)

    return write_form(
        FacilityIn(),
        facility_register.create,
        lambda exc: _page(form_status(exc), form_errors(exc), request.form.to_dict()),
        done,
    )


assert set(KINDS_VN) == set(facility_register.KINDS)
