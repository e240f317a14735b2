"""Every service has the same shape (docs/architecture.md, "One template"): the same file names meaning the same
thing in finance, investment and claims, so a newcomer who has read one service can find anything in another."""

from __future__ import annotations

from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
TEMPLATE_SERVICES = ("finance", "investment", "claims")


def has(folder: Path, name: str) -> bool:
    """`name.py` as a module, or `name/` as a package of modules."""
    return (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file()


@pytest.mark.parametrize("service", TEMPLATE_SERVICES)
def test_the_service_has_the_template_files(service: str) -> None:
    folder = SERVICES / service
    missing = [
        name
        for name in ("service", "handlers", "repository", "unit_of_work", "views", "models")
        if not has(folder, name)
    ]
    assert missing == []
    assert (folder / "domain" / "__init__.py").is_file(), "the pure rules are a package: domain/"
    assert (folder / "migrations" / "env.py").is_file(), "each service owns its schema and its Alembic history"


@pytest.mark.parametrize("service", TEMPLATE_SERVICES)
def test_no_module_of_the_old_shape_is_left(service: str) -> None:
    # ledger.py mixed locking, rules and events; queries.py and ledger.py imported each other.
    folder = SERVICES / service
    assert [n for n in ("ledger", "queries") if has(folder, n)] == []


def test_the_gateway_has_an_application_layer_between_its_two_faces() -> None:
    gateway = SERVICES / "gateway"
    for part in ("application", "api", "web"):
        assert (gateway / part / "__init__.py").is_file(), part


def test_the_claims_intake_worker_is_an_entrypoint_module_on_top_like_service_py() -> None:
    """claims/worker.py (docs/architecture.md): the intake's entrypoints in processes of their own. Like service.py
    it sits on top: no module imports it (the runner loads it by name), so nothing below depends on nameko's
    entrypoints."""
    import ast

    assert has(SERVICES / "claims", "worker")
    importers = []
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if "services.claims.worker" in names:
                importers.append(str(path.relative_to(SERVICES)))
    assert importers == []
