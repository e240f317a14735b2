"""A claims answer names its moments with their offset (UTC) on both engines (services/common/db.Instant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.claims.conftest import ClaimsEnv


def test_an_answer_names_its_moments_with_their_offset(claims_env: ClaimsEnv) -> None:
    registered = claims_env.register(b"<GIAMDINHHS/>")
    uploaded = datetime.fromisoformat(claims_env.status(registered["id"])["uploaded_at"])
    assert uploaded.utcoffset() == timedelta(0), uploaded
    assert abs(datetime.now(UTC) - uploaded) < timedelta(minutes=5)
