"""Secrets: API keys never leak into logs, responses or the repository, and are compared in
constant time.

The log and response checks drive a real app through every kind of answer (created, refused,
forbidden, invalid, too large, internal error, metrics) with a valid key and with wrong ones,
capturing every log record as the production JSON formatter writes it. The repository scan
reads every file git tracks (or would track) for our key format, private keys and passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import math
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import api.auth
from api import create_app
from api.auth import ApiKey, KeyRing, generate_key, hash_key, token_for
from api.context import EXTENSION, Services
from api.gunicornconf import ACCESS_LOG_FORMAT
from api.logs import JsonFormatter
from api.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
THIS_FILE = Path(__file__).resolve()
PACK_DIR = REPO / "tests" / "api" / "fixtures" / "pack"

PROPOSAL: dict[str, Any] = {
    "reference": "SECRETS-1", "title": "Launch services",
    "initiator": {"name": "Orbital Dynamics Inc.", "country": "US", "type": "private_company"},
    "counterparties": [{"name": "Acme Launch", "country": "RU", "type": "private_company"}],
    "deal": {"type": "launch_services"}, "sectors": ["space"],
}


# ---------------------------------------------------------------------------------------------
# logs and responses


@dataclass
class Keys:
    """The raw tokens of the app's keys, and wrong tokens a client might present."""

    all: str
    auditor: str
    wrong: list[str]

    def secrets(self) -> list[str]:
        return [self.all, self.auditor, *self.wrong]


@pytest.fixture
def keys() -> Keys:
    return Keys(all=generate_key(), auditor=generate_key(),
                wrong=[generate_key(), "rr_" + "Zq8" * 14 + "x",
                       token_for(generate_key(), "auditor-key")])


@pytest.fixture
def app(tmp_path: Path, keys: Keys) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'secrets.sqlite3'}"
    upgrade(url)
    configured = [
        ApiKey("all-roles-key", hash_key(keys.all), frozenset({"submitter", "auditor", "admin"})),
        ApiKey("auditor-key", hash_key(keys.auditor, "scrypt"), frozenset({"auditor"})),
    ]
    app = create_app({"RULES_DIR": str(PACK_DIR), "DATABASE_URL": url, "KEYS": configured,
                      "CONFIGURE_LOGGING": False, "RATE_LIMIT_RPS": 0, "MASTER_PID": None})
    app.config["TESTING"] = True
    yield app
    svc: Services = app.extensions[EXTENSION]
    svc.holder.close()
    svc.store.close()


class _Capture(logging.Handler):
    """Every record, formatted as production writes it (JSON, `extra` fields included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured_logs() -> Iterator[_Capture]:
    handler = _Capture()
    loggers = [logging.getLogger(), logging.getLogger("riskrules"), logging.getLogger("werkzeug")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _exchange(app: Flask, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """One request of each kind; (status, headers and body as text) of every answer."""
    client = app.test_client()
    ok = {"Authorization": f"Bearer {keys.all}"}
    answers = []

    def record(response: Any) -> None:
        head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        answers.append((response.status_code, head + "\n\n" + response.get_data(as_text=True)))

    created = client.post("/v1/assessments", json=PROPOSAL, headers={**ok, "Idempotency-Key": "s1"})
    record(created)
    record(client.post("/v1/assessments", json=PROPOSAL, headers={**ok, "Idempotency-Key": "s1"}))
    record(client.get(created.headers["Location"], headers=ok))
    record(client.get(created.headers["Location"],
                      headers={"Authorization": f"Bearer {token_for(keys.auditor, 'auditor-key')}"}))
    record(client.get("/v1/assessments", headers=ok))
    record(client.post("/v1/assessments:batch", json={"proposals": [PROPOSAL, {}]}, headers=ok))
    record(client.post("/v1/assessments", json={"title": 5}, headers=ok))
    record(client.post("/v1/assessments", data=b'{"a": 1, "a": 2}', headers=ok,
                       content_type="application/json"))
    record(client.post("/v1/assessments", data=b"x" * (2 * 1024 * 1024), headers=ok,
                       content_type="application/json"))
    record(client.post("/v1/assessments", json=PROPOSAL,
                       headers={"Authorization": f"Bearer {token_for(keys.auditor, 'auditor-key')}"}))  # 403
    for wrong in keys.wrong:
        record(client.post("/v1/assessments", json=PROPOSAL,
                           headers={"Authorization": f"Bearer {wrong}"}))
        record(client.get("/v1/ruleset", headers={"Authorization": f"Basic {wrong}"}))
    record(client.post("/v1/ruleset:reload", headers=ok))
    record(client.get("/v1/ruleset", headers=ok))
    store = app.extensions[EXTENSION].store

    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(store, "insert", boom)
    record(client.post("/v1/assessments", json=PROPOSAL, headers=ok))  # 500, logged with trace
    monkeypatch.undo()
    record(client.get("/metrics"))
    record(client.get("/healthz"))
    return answers


def test_keys_never_appear_in_logs_or_responses(app: Flask, keys: Keys,
                                                captured_logs: _Capture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _exchange(app, keys, monkeypatch)
    statuses = Counter(status for status, _ in answers)
    assert {200, 201, 400, 401, 403, 413, 422, 500} <= set(statuses), statuses
    log_text = "\n".join(captured_logs.lines)
    assert "all-roles-key" in log_text  # the key id is logged, so the capture works
    assert "database exploded" in log_text  # and so is the 500's traceback
    forbidden = [*keys.secrets(), hash_key(keys.all).removeprefix("sha256:")]
    for secret in forbidden:
        assert secret not in log_text
        # a fragment long enough to matter (a truncated key in a message is still a leak)
        assert secret[3:24] not in log_text
        for status, text in answers:
            assert secret not in text and secret[3:24] not in text, status


def test_the_access_log_format_records_no_credentials() -> None:
    fields = json.loads(ACCESS_LOG_FORMAT)
    assert "request_id" in fields
    assert "authorization" not in ACCESS_LOG_FORMAT.lower()
    assert "cookie" not in ACCESS_LOG_FORMAT.lower()


# ---------------------------------------------------------------------------------------------
# constant-time comparison


class _Spy:
    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return bool(self.real(a, b))


def test_authentication_compares_every_key_with_hmac_compare_digest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = [generate_key() for _ in range(4)]
    ring = KeyRing([ApiKey(f"k{i}", hash_key(t), frozenset({"auditor"}))
                    for i, t in enumerate(tokens)])
    spy = _Spy(hmac.compare_digest)
    monkeypatch.setattr("api.auth.hmac.compare_digest", spy)
    for index, token in enumerate(tokens):
        spy.calls.clear()
        found = ring.authenticate(token)
        assert found is not None and found.key_id == f"k{index}"
        # every configured key is compared, whichever matches: no early exit to time
        assert len(spy.calls) == len(tokens)
        assert {stored for _, stored in spy.calls} == {k.hash for k in ring.keys}
        fingerprint = "sha256:" + hashlib.sha256(token.encode()).hexdigest()
        assert all(presented == fingerprint for presented, _ in spy.calls)
    spy.calls.clear()
    assert ring.authenticate(generate_key()) is None
    assert len(spy.calls) == len(tokens)


def test_scrypt_keys_are_compared_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    token = generate_key()
    ring = KeyRing([ApiKey("slow", hash_key(token, "scrypt"), frozenset({"admin"}))])
    spy = _Spy(hmac.compare_digest)
    monkeypatch.setattr("api.auth.hmac.compare_digest", spy)
    assert ring.authenticate(token_for(generate_key(), "slow")) is None
    assert spy.calls, "a wrong token must be checked with compare_digest"
    spy.calls.clear()
    found = ring.authenticate(token_for(token, "slow"))
    assert found is not None and found.key_id == "slow" and spy.calls


def test_requests_authenticate_through_compare_digest(app: Flask, keys: Keys,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _Spy(hmac.compare_digest)
    monkeypatch.setattr("api.auth.hmac.compare_digest", spy)
    response = app.test_client().get("/v1/ruleset",
                                     headers={"Authorization": f"Bearer {keys.all}"})
    assert response.status_code == 200
    assert any(stored == hash_key(keys.all) for _, stored in spy.calls)


PLAIN_COMPARISON = re.compile(r"\b(hash|digest|token|fingerprint|stored|secret)\w*\s*[!=]="
                              r"|[!=]=\s*(\w+\.)?(hash|digest|token|fingerprint|stored|secret)\b")


def test_the_auth_module_has_no_plain_comparison_of_secrets() -> None:
    assert PLAIN_COMPARISON.search("if fingerprint == key.hash:")  # the guard can fire
    source = Path(api.auth.__file__).read_text(encoding="utf-8")
    offending = [line for line in source.splitlines()
                 if PLAIN_COMPARISON.search(line.split("#", 1)[0])]
    assert not offending, offending


# ---------------------------------------------------------------------------------------------
# the repository

# Assembled from parts so that this file does not match its own patterns.
_DASHES = "-" * 5
PEM = re.compile(_DASHES + r"BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY" + _DASHES)
API_KEY = re.compile(r"(?<![A-Za-z0-9_-])" + "r" + r"r_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@")
ASSIGNED = re.compile(r"(?i)\b(pass(?:word|wd)?|secret|api[_-]?key|token|credential)s?\b"
                      r"[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9+/=_.~!@#$%^&*-]{8,})")
CLOUD = re.compile("|".join([r"AKIA[0-9A-Z]{16}", r"gh[pousr]_[A-Za-z0-9]{36}",
                             r"xox[abprs]-[A-Za-z0-9-]{10,}", r"sk_live_[A-Za-z0-9]{16,}"]))
# Known placeholders, each with the reason it is not a credential.
PLACEHOLDERS = {
    "riskrules": "deploy/compose.yaml: the local-trial database password, documented as such",
    "CHANGE-ME": "deploy/kustomize/secret.yaml: a placeholder to replace before applying",
    "pw": "deploy/README.md: an example URL",
}
SKIP_DIRS = {".git", ".venv", "venv", "var", "node_modules", "__pycache__", ".mypy_cache",
             ".ruff_cache", ".pytest_cache", ".hypothesis", "riskrules.egg-info"}


def entropy(text: str) -> float:
    """Shannon entropy in bits per character: random keys are high, `rr_000…` is 0."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def repository_files(root: Path = REPO) -> list[Path]:
    """Files git tracks or would track (untracked but not ignored); a tree walk without git."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=root, capture_output=True,
                             check=True, timeout=30).stdout
        names = [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]
        return [root / n for n in names if (root / n).is_file()]
    except (OSError, subprocess.SubprocessError):
        return [p for p in root.rglob("*") if p.is_file()
                and not SKIP_DIRS & set(p.relative_to(root).parts)]


def findings(path: Path, text: str) -> list[str]:
    """Credential-looking strings in one file's text."""
    found: list[str] = []
    for match in PEM.finditer(text):
        found.append(f"{path}: private key block {match.group(0)!r}")
    for match in API_KEY.finditer(text):
        if entropy(match.group(0)[3:]) >= 3.5:
            found.append(f"{path}: API key {match.group(0)[:8]}...")
    for match in CLOUD.finditer(text):
        found.append(f"{path}: cloud token {match.group(0)[:8]}...")
    for match in URL_PASSWORD.finditer(text):
        if match.group(1) not in PLACEHOLDERS and not match.group(1).startswith("$"):
            found.append(f"{path}: password in URL {match.group(0)[:40]!r}")
    for match in ASSIGNED.finditer(text):
        value = match.group(2)
        if value in PLACEHOLDERS or entropy(value) < 3.5 or not re.search(r"\d", value):
            continue  # words and identifiers (`secret = generate_key`) are not credentials
        found.append(f"{path}: {match.group(1)} = {value[:6]}...")
    return found


def test_the_scanner_finds_planted_credentials(tmp_path: Path) -> None:
    planted = tmp_path / "leak.env"
    key = generate_key()
    planted.write_text("\n".join([
        f"RISKRULES_KEY={key}",
        _DASHES + "BEGIN OPENSSH PRIVATE KEY" + _DASHES,
        "DATABASE_URL=postgresql://app:" + "s3cr3t-Pa55word" + "@db/app",
        "api_key: " + "Zx81kQ0pLm27Rt5w",
        "aws = " + "AKIA" + "ABCDEFGHIJKLMNOP",
    ]), encoding="utf-8")
    kinds = [f.split(": ", 1)[1].split(" ", 1)[0] for f in findings(planted, planted.read_text())]
    assert len(kinds) == 5, kinds
    placeholder = "url: postgresql://riskrules:CHANGE-ME@db/x\nid: rr_" + "0" * 43
    assert findings(planted, placeholder) == []


def test_no_credentials_in_the_repository() -> None:
    files = repository_files()
    assert len(files) > 100 and any(p.name == "pyproject.toml" for p in files)
    problems: list[str] = []
    for path in files:
        if path.resolve() == THIS_FILE:
            continue  # its patterns and planted examples are the point of it
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace").read()
        problems.extend(findings(path.relative_to(REPO), text))
    assert not problems, "\n".join(problems)
