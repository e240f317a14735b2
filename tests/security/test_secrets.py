"""Secrets come only from the environment: none is written in the code or the deployment files.

- no key material anywhere in the repository (private keys, cloud keys, our own API tokens, password hashes, JWTs);
- in the services' Python, no name that means a secret (password, secret, token, api key) is given a string
  literal, whether by assignment, keyword, dict key or config subscript (read from the AST, not by regex);
- in the deployment files, every credential is an environment substitution (`${VAR}` or `${VAR:-…-dev}` for
  the local compose file) or the placeholder `CHANGE-ME…`;
- the gateway's session key is the environment's when set, and a fresh random one otherwise.

    .venv/bin/pytest -q -p no:cacheprovider tests/security/test_secrets.py
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from services.gateway.app import create_app
from tests.support.infra import ROOT

KEY_MATERIAL = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    # token_urlsafe(32): 43 characters with capitals and digits (metric names are ytcs_ and lower case).
    "YTCS API token": re.compile(r"\bytcs_(?=[\w-]{0,42}[A-Z])(?=[\w-]{0,42}[0-9])[A-Za-z0-9_-]{43}(?![\w-])"),
    "argon2 hash": re.compile(r"\$argon2(?:id|i|d)\$v=\d+\$m=\d+"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}"),
    "Slack/GitHub token": re.compile(r"\b(?:xox[abp]-[0-9A-Za-z-]{10,}|gh[pousr]_[A-Za-z0-9]{30,})"),
}
SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|api_?key|token|credential)")
# Literal values that are not secrets although their names say so.
NOT_SECRETS = {("services/gateway/accounts.py", "TOKEN_PREFIX")}  # the visible prefix of every token
# RabbitMQ's own local-only default account, the documented default of AMQP_URI (docs/contract.md).
DEFAULT_ACCOUNTS = {"guest"}


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / p for p in out.splitlines() if (ROOT / p).is_file()]


def test_no_key_material_in_the_repository() -> None:
    found = []
    for path in _tracked():
        if path.suffix in (".xlsx", ".png", ".ico", ".woff2", ".gz", ".zip"):
            continue
        text = path.read_text(errors="replace")
        found += [(str(path.relative_to(ROOT)), kind) for kind, rx in KEY_MATERIAL.items() if rx.search(text)]
    assert found == []


def _literal_secrets(path: Path, rel: str | None = None) -> list[str]:
    rel = rel or str(path.relative_to(ROOT))
    tree = ast.parse(path.read_text(), filename=rel)
    hits = []

    def check(name: str | None, value: ast.AST, line: int) -> None:
        if (
            name
            and SECRET_NAME.search(name)
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and len(value.value) >= 4
            and not any(c.isspace() for c in value.value)  # a sentence (a message), not a key
            and (rel, name) not in NOT_SECRETS
        ):
            hits.append(f"{rel}:{line} {name} = {value.value[:12]!r}…")

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    check(t.id, node.value, node.lineno)
                elif isinstance(t, ast.Attribute):
                    check(t.attr, node.value, node.lineno)
                elif isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant):
                    check(str(t.slice.value), node.value, node.lineno)
        elif isinstance(node, ast.keyword) and node.value is not None:
            check(node.arg, node.value, getattr(node.value, "lineno", 0))
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    check(k.value, v, k.lineno)
    return hits


def test_no_secret_is_a_literal_in_the_services_code() -> None:
    hits = [h for p in sorted((ROOT / "services").rglob("*.py")) for h in _literal_secrets(p)]
    assert hits == []


def test_the_literal_scan_finds_a_planted_secret(tmp_path: Path) -> None:
    """The scan above must be able to fail."""
    planted = tmp_path / "planted.py"
    planted.write_text(
        'SECRET_KEY = "s3cr3t-v4lue"\napp.config["SECRET_KEY"] = "x" * 1\nconnect(password="hunter22")\n'
    )
    hits = _literal_secrets(planted, "services/planted.py")
    assert len(hits) == 2 and "SECRET_KEY" in hits[0] and "password" in hits[1], hits


CREDENTIAL_IN_URL = re.compile(r"[a-z][a-z0-9+]*://([^/\s:@'\"]+):([^@\s'\"]+)@")
# Settings named like environment variables that hold a credential (upper case: YAML keys such as `key:` are not).
CREDENTIAL_SETTING = re.compile(
    r"^\s*-?\s*\"?([A-Z0-9_]*(?:PASSWORD|_PASS|SECRET|TOKEN|API_KEY|ACCESS_KEY)[A-Z0-9_]*)\"?\s*[:=]\s*(.+?)\s*$"
)
FROM_ENV = re.compile(r"^\$\{[A-Z0-9_]+(?::-[A-Za-z0-9_.-]*-dev)?\}$|^CHANGE-ME")


def test_deployment_files_take_credentials_from_the_environment() -> None:
    files = [
        p
        for p in _tracked()
        if p.suffix in (".yml", ".yaml", ".env", ".ini", ".conf", ".toml", ".sh")
        or p.name == "Makefile"
        or p.name.startswith("Dockerfile")
    ]
    files = [p for p in files if not str(p.relative_to(ROOT)).startswith("tests/")]
    bad = []
    for path in files:
        rel = str(path.relative_to(ROOT))
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for _user, password in CREDENTIAL_IN_URL.findall(line):
                if not (FROM_ENV.match(password) or password in DEFAULT_ACCOUNTS) and "$" not in password:
                    bad.append(f"{rel}:{n} {line.strip()[:100]}")
            m = CREDENTIAL_SETTING.match(line)
            if m:
                value = m.group(2).split(" #")[0].strip().strip("\"'")
                if (
                    value
                    and not FROM_ENV.match(value)
                    and not value.startswith(("$", "{{", "valueFrom", "secretKeyRef"))
                    and not value.endswith(":")
                    and value not in ("|", ">")
                ):
                    bad.append(f"{rel}:{n} {line.strip()[:100]}")
    assert bad == []


def test_the_session_key_comes_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("YTCS_SECRET_KEY", "from-the-environment-" + "x" * 20)
    assert create_app({"GATEWAY_DB_URL": "sqlite://"}).config["SECRET_KEY"] == "from-the-environment-" + "x" * 20
    monkeypatch.delenv("YTCS_SECRET_KEY")
    keys = []
    for folder in ("one", "two"):  # otherwise kept per data folder (issue 20: a restart keeps people logged in)
        monkeypatch.setenv("YTCS_VAR", str(tmp_path / folder))
        keys.append(create_app({"GATEWAY_DB_URL": "sqlite://"}).config["SECRET_KEY"])
    assert keys[0] != keys[1] and len(keys[0]) >= 32  # random, never a constant in the code
