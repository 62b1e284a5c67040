"""Authentication and authorisation over HTTP: 401 vs 403 per role, rate limits, no-auth mode."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.errors import ConfigError
from tests.api.support import TOKENS, auth, proposal

# (method, path, roles allowed): admin holds every role; a submitter reads its own
# assessments (docs/reliability.md, "Round 2"), an auditor every one
ENDPOINTS = [
    ("POST", "/v1/assessments", {"submitter", "admin"}),
    ("POST", "/v1/assessments:batch", {"submitter", "admin"}),
    ("GET", "/v1/assessments", {"auditor", "submitter", "admin"}),
    ("GET", "/v1/assessments/some-id", {"auditor", "submitter", "admin"}),
    ("POST", "/v1/ruleset:reload", {"admin"}),
]
ANY_KEY = ["/v1/ruleset", "/v1/rules", "/v1/rules/SEC-001"]


def call(client: FlaskClient, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {"proposals": [proposal()]} if path.endswith(":batch") else proposal()
    if method == "POST":
        return client.post(path, json=body, headers=headers)
    return client.get(path, headers=headers)


@pytest.mark.parametrize(("method", "path", "roles"), ENDPOINTS)
def test_roles(client: FlaskClient, method: str, path: str, roles: set[str]) -> None:
    missing = call(client, method, path, {})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.content_type == "application/problem+json"
    wrong = call(client, method, path, {"Authorization": "Bearer rr_not-a-key"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    basic = call(client, method, path, {"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    for other in ("submitter", "auditor", "admin"):
        response = call(client, method, path, auth(other))
        if other in roles:
            assert response.status_code not in (401, 403), response.json
        else:
            assert response.status_code == 403, (other, response.json)
            assert response.json["type"].endswith("RR611")
    assert call(client, method, path, auth("all")).status_code not in (401, 403)


@pytest.mark.parametrize("path", ANY_KEY)
def test_read_only_pack_endpoints_take_any_key(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 401
    for role in ("submitter", "auditor", "admin"):
        assert client.get(path, headers=auth(role)).status_code == 200


def test_operations_endpoints_need_no_key(client: FlaskClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 200, path


def test_rate_limit_answers_429_with_retry_after(make_app: Any) -> None:
    app = make_app(RATE_LIMIT_RPS=0.5, RATE_LIMIT_BURST=2)
    client = app.test_client()
    statuses = [client.get("/v1/ruleset", headers=auth("auditor")).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get("/v1/ruleset", headers=auth("auditor"))
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] in ("1", "2")
    assert limited.content_type == "application/problem+json"
    # Another key has its own bucket.
    assert client.get("/v1/ruleset", headers=auth("submitter")).status_code == 200


def test_no_keys_refuses_to_start(make_app: Any) -> None:
    with pytest.raises(ConfigError, match="no API keys configured"):
        make_app(KEYS=[])


def test_insecure_mode_serves_everyone_and_says_so(make_app: Any,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="riskrules"):
        app = make_app(KEYS=[], INSECURE_NO_AUTH=True)
    assert any("WITHOUT AUTHENTICATION" in r.getMessage() for r in caplog.records)
    client = app.test_client()
    created = client.post("/v1/assessments", json=proposal())
    assert created.status_code == 201
    stored = app.extensions["riskrules"].store.get(created.json["id"])
    assert stored.api_key_id == "anonymous"


def test_keys_come_from_a_file_or_the_environment(make_app: Any, tmp_path: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from api.auth import ApiKey, append_key, dump_keys_json, hash_key

    path = tmp_path / "keys.yaml"
    append_key(str(path), ApiKey("filekey", hash_key("secret-1"), frozenset({"auditor"})))
    monkeypatch.setenv("RISKRULES_API_KEYS", dump_keys_json(
        [ApiKey("envkey", hash_key(TOKENS["admin"]), frozenset({"admin"}))]))
    config = {"KEYS_FILE": str(path)}
    app = make_app(KEYS=None, **config)
    client = app.test_client()
    ok = client.get("/v1/assessments", headers={"Authorization": "Bearer secret-1"})
    assert ok.status_code == 200
    assert client.get("/v1/ruleset", headers=auth("admin")).status_code == 200
