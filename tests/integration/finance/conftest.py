from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.finance.catalog_loader import sync_catalog
from tests.support.infra import ROOT
from tests.support.services import migrated


def finance_factory(url: str) -> contextlib.AbstractContextManager[sessionmaker[Session]]:
    """A finance database at `url` built by its migrations, with the plan catalog loaded."""
    return migrated("finance", url, sync_catalog)


@pytest.fixture
def finance_db(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    """A finance database built by its migrations, with the plan catalog loaded (SQLite and PostgreSQL)."""
    with finance_factory(any_db_url) as factory:
        yield factory


@pytest.fixture
def finance_file_db(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """(URL, session factory) of such a database in a SQLite file, for a finance service in a child process."""
    url = f"sqlite:///{tmp_path / 'finance.db'}"
    with finance_factory(url) as factory:
        yield url, factory


@pytest.fixture
def run_child(tmp_path: Path) -> Callable[..., Any]:
    """Run a Python script in a child interpreter and answer its last line of output as JSON. A nameko container
    needs eventlet's monkey patching, which this pytest process does not do: the script patches first, as
    `ytcs serve` does."""

    def run(script: str, *args: str, timeout: float, env: dict[str, str] | None = None) -> Any:
        path = tmp_path / "child.py"
        path.write_text(script)
        out = subprocess.run(
            [sys.executable, str(path), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    return run
