"""Operations: health, readiness, metrics, problem documents for every failure, request log."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.logs import JsonFormatter
from api.store import Store
from tests.api.support import auth, proposal


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"pack": "ok", "store": "ok"}


def test_readiness_fails_when_the_store_is_unreachable(make_app: Any) -> None:
    app = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert "assessment store unavailable" in response.json["detail"]


def test_a_store_that_cannot_write_answers_503_and_stores_nothing(
        make_app: Any, sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    Store(sqlite_url).close()
    app = make_app(DATABASE_URL=f"sqlite:///file:{path}?mode=ro&uri=true")
    client = app.test_client()
    response = client.post("/v1/assessments", json=proposal(), headers=auth("submitter"))
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.json["type"].endswith("RR700")
    assert "Traceback" not in response.data.decode()
    batch = client.post("/v1/assessments:batch", json={"proposals": [proposal()]},
                        headers=auth("submitter"))
    assert batch.status_code == 503
    assert client.get("/v1/assessments", headers=auth("auditor")).json["items"] == []
    ready = client.get("/readyz")  # reads still work: readiness must test a write
    assert ready.status_code == 503
    assert "readonly" in ready.json["detail"] or "read-only" in ready.json["detail"]


def test_unexpected_errors_are_500_problems_with_a_logged_correlation_id(
        client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    store = app.extensions["riskrules"].store

    def boom(_id: str) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(store, "get", boom)
    with caplog.at_level(logging.ERROR, logger="riskrules"):
        response = client.get("/v1/assessments/x", headers=auth("auditor"))
    assert response.status_code == 500
    assert response.content_type == "application/problem+json"
    doc = response.json
    assert "secret internals" not in response.data.decode()
    assert "Traceback" not in response.data.decode()
    correlation = doc["correlation_id"]
    logged = [r for r in caplog.records if getattr(r, "correlation_id", None) == correlation]
    assert logged and logged[0].exc_info is not None


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nowhere", 404), ("DELETE", "/v1/assessments", 405),
    ("PUT", "/v1/ruleset", 405), ("GET", "/v1/assessments:batch", 405),
])
def test_routing_errors_are_problem_documents(client: FlaskClient, method: str, path: str,
                                              status: int) -> None:
    response = client.open(path, method=method, headers=auth("all"))
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == status and response.json["instance"] == path
    if status == 405:
        assert "GET" in response.headers["Allow"] or "POST" in response.headers["Allow"]


def test_no_endpoint_updates_or_deletes(app: Flask) -> None:
    methods = {m for rule in app.url_map.iter_rules() for m in rule.methods or ()}
    assert methods <= {"GET", "HEAD", "OPTIONS", "POST"}


def test_request_id_is_echoed_or_generated(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert made.headers["X-Request-Id"] != "bad id with spaces"
    assert len(made.headers["X-Request-Id"]) == 32


def test_one_structured_log_line_per_request(client: FlaskClient,
                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="riskrules.access"):
        created = client.post("/v1/assessments", json=proposal(), headers={
            **auth("submitter"), "X-Request-Id": "req-1"})
    lines = [r for r in caplog.records if r.name == "riskrules.access"]
    assert len(lines) == 1
    line = json.loads(JsonFormatter().format(lines[0]))
    assert line["request_id"] == "req-1" and line["method"] == "POST"
    assert line["route"] == "/v1/assessments" and line["status"] == 201
    assert line["key_id"] == "submitter" and line["assessment_id"] == created.json["id"]
    assert line["duration_ms"] >= 0 and line["level"] == "info"
    assert "rr_" not in json.dumps(line)  # never the key itself


def test_metrics_count_requests_assessments_and_rule_fires(client: FlaskClient) -> None:
    client.post("/v1/assessments", json=proposal("RU"), headers=auth("submitter"))
    client.post("/v1/assessments", json=proposal("KP"), headers=auth("submitter"))
    client.get("/v1/assessments/none", headers=auth("auditor"))
    text = client.get("/metrics").data.decode()
    assert ('riskrules_http_requests_total{method="POST",route="/v1/assessments",'
            'status="201"} 2.0') in text
    assert ('riskrules_http_requests_total{method="GET",route="/v1/assessments/'
            '<assessment_id>",status="404"} 1.0') in text
    assert "riskrules_http_request_duration_seconds_bucket{" in text
    assert 'riskrules_assessments_total{band="high",decision="escalate"} 1.0' in text
    assert 'riskrules_assessments_total{band="high",decision="reject"} 1.0' in text
    assert 'riskrules_rule_fires_total{rule="SEC-001"} 1.0' in text
    assert 'riskrules_rule_fires_total{rule="KO-001"} 1.0' in text
    assert 'riskrules_ruleset_info{digest="sha256:' in text


def test_json_formatter_writes_one_object_per_line() -> None:
    record = logging.LogRecord("riskrules.x", logging.WARNING, "f", 1, "hello %s", ("you",),
                               None)
    record.key_id = "k"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    doc = json.loads(line)
    assert doc["message"] == "hello you" and doc["key_id"] == "k" and doc["level"] == "warning"
