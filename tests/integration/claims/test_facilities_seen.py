"""The facilities claim files name but the gateway's register lacks (claims RPC `facilities_seen`, shown on
the admins' /facilities page for mapping), and the uploaded file's name kept with the file (migration 0006),
on SQLite and PostgreSQL."""

from __future__ import annotations

import io

from services.claims import handlers, views
from tests.integration.claims.conftest import ClaimsEnv, generate


def test_facilities_named_by_files_and_not_registered_are_listed_with_their_counts(claims_env: ClaimsEnv):
    first, _ = generate(facility="91001", records=3, seed=1)
    second, _ = generate(facility="91002", records=2, seed=2)
    claims_env.load(first)
    claims_env.load(second)
    with claims_env.session() as s:
        seen = {f["facility_code"]: f for f in views.facilities_seen(s, [])}
        assert set(seen) == {"91001", "91002"}
        assert (seen["91001"]["files"], seen["91001"]["claims"]) == (1, 3)
        assert (seen["91002"]["files"], seen["91002"]["claims"]) == (1, 2)
        assert seen["91001"]["last_seen"]
        assert [f["facility_code"] for f in views.facilities_seen(s, ["91001"])] == ["91002"]
        assert views.facilities_seen(s, ["91001", "91002"]) == []


def test_the_uploaded_file_name_is_kept_and_answered(claims_env: ClaimsEnv):
    data, _ = generate(facility="91003", records=1, seed=3)
    blob = claims_env.store.put(io.BytesIO(data))
    data = {"sha256": blob.sha256, "size": blob.size, "blob_name": blob.name, "uploaded_by": "test",
            "facility_code": None, "filename": "HoSo_Quý3.xml"}
    file_id = claims_env.run(handlers.register_file, data)["id"]
    assert claims_env.status(file_id)["filename"] == "HoSo_Quý3.xml"
    with claims_env.session() as s:
        [listed] = views.list_files(s, 1, 10, None)["items"]
    assert listed["filename"] == "HoSo_Quý3.xml"
