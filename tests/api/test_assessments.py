"""POST/GET /v1/assessments and the batch endpoint, on both store backends, with the real engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.store import Store
from tests.api.support import auth, proposal

PROBLEM = "application/problem+json"


@pytest.fixture
def app(make_app: Any, db_url: str) -> Flask:
    """These tests run on each store backend."""
    return make_app(DATABASE_URL=db_url)


def post(client: FlaskClient, body: Any, *, key: str = "submitter", **headers: str) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/v1/assessments", data=data, content_type="application/json",
                       headers={**auth(key), **headers})


def count(app: Flask) -> int:
    store: Store = app.extensions["riskrules"].store
    return store.count()


def test_create_then_read_back_identical(client: FlaskClient, app: Flask) -> None:
    created = post(client, proposal("RU", reference="ABC-1"))
    assert created.status_code == 201, created.json
    doc = created.json
    assert created.headers["Location"] == f"/v1/assessments/{doc['id']}"
    assert (doc["decision"], doc["band"], doc["score"]) == ("escalate", "high", 50.0)
    assert doc["reference"] == "ABC-1"
    assert doc["created_at"].endswith("Z")
    assert doc["ruleset"]["name"] == "api-fixture"
    assert doc["factors"][0]["rules"][0]["evidence"][0]["path"] == "counterparties[0].country"
    got = client.get(created.headers["Location"], headers=auth("auditor"))
    assert got.status_code == 200
    assert got.data == created.data  # identical JSON, byte for byte
    assert count(app) == 1


def test_stored_record_keeps_proposal_pack_and_key_id(client: FlaskClient, app: Flask) -> None:
    body = proposal("KP")
    created = post(client, body)
    assert created.json["decision"] == "reject"
    stored = app.extensions["riskrules"].store.get(created.json["id"])
    assert stored.proposal == body
    assert stored.api_key_id == "submitter"
    assert stored.pack_digest == created.json["ruleset"]["digest"]
    assert stored.assessment_json == created.data.decode()


def test_idempotent_replay_returns_the_original_without_a_second_record(
        client: FlaskClient, app: Flask) -> None:
    first = post(client, proposal("CN"), **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    # Same JSON value, other formatting and key order: still the same body.
    reordered = json.dumps(dict(reversed(list(proposal("CN").items()))), indent=2)
    again = post(client, reordered, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data
    assert count(app) == 1
    conflict = post(client, proposal("US"), **{"Idempotency-Key": "k-1"})
    assert conflict.status_code == 409
    assert conflict.content_type == PROBLEM
    assert count(app) == 1
    # Keys are scoped per API key: another submitter may use the same Idempotency-Key.
    other = post(client, proposal("US"), key="submitter2", **{"Idempotency-Key": "k-1"})
    assert other.status_code == 201
    assert count(app) == 2


def test_bad_idempotency_key_header(client: FlaskClient) -> None:
    response = post(client, proposal(), **{"Idempotency-Key": "a" * 256})
    assert response.status_code == 400


def test_contract_violations_are_422_naming_every_field(client: FlaskClient, app: Flask) -> None:
    bad = proposal()
    bad["counterparties"][0]["colour"] = "red"
    bad["counterparties"][0]["country"] = "Russia"
    bad.pop("title")
    response = post(client, bad)
    assert response.status_code == 422
    assert response.content_type == PROBLEM
    doc = response.json
    assert {e["path"] for e in doc["errors"]} == {"counterparties[0].colour",
                                                  "counterparties[0].country", "title"}
    assert doc["type"] == "urn:riskrules:problem:RR200"
    assert doc["status"] == 422 and doc["title"] and doc["detail"]
    assert count(app) == 0


@pytest.mark.parametrize(("body", "content_type", "status"), [
    ('{"title": "a", "title": "b"}', "application/json", 400),
    ('{"payments": {"usd_share": NaN}}', "application/json", 400),
    ('{"x": Infinity}', "application/json", 400),
    ("not json", "application/json", 400),
    ("", "application/json", 400),
    ("[" * 40 + "]" * 40, "application/json", 400),
    ('{"title": "t"}', "text/plain", 415),
    ('{"title": "t"}', "application/x-www-form-urlencoded", 415),
    ("[]", "application/json", 422),
])
def test_request_hygiene(client: FlaskClient, app: Flask, body: str, content_type: str,
                         status: int) -> None:
    response = client.post("/v1/assessments", data=body, content_type=content_type,
                           headers=auth("submitter"))
    assert response.status_code == status
    assert response.content_type == PROBLEM
    assert response.json["status"] == status
    assert count(app) == 0


def test_body_over_the_limit_is_413(make_app: Any, db_url: str) -> None:
    app = make_app(DATABASE_URL=db_url, MAX_BODY_BYTES=2048)
    client = app.test_client()
    big = proposal(summary="x" * 3000)
    response = post(client, big)
    assert response.status_code == 413
    assert response.content_type == PROBLEM
    assert "2048" in response.json["detail"]
    # Without Content-Length (chunked), the limit holds too.
    data = json.dumps(big).encode()
    response = client.post("/v1/assessments", input_stream=__import__("io").BytesIO(data),
                           content_type="application/json", headers=auth("submitter"))
    assert response.status_code == 413


def test_batch_scores_valid_items_and_reports_the_others(client: FlaskClient, app: Flask) -> None:
    bad = proposal(reference="BAD-7")
    bad["sectors"] = ["nope"]
    body = {"proposals": [proposal("RU"), bad, "not an object", proposal("US", reference="R2")]}
    response = client.post("/v1/assessments:batch", json=body, headers=auth("submitter"))
    assert response.status_code == 200
    results = response.json["results"]
    assert len(results) == 4
    assert results[0]["decision"] == "escalate" and results[3]["decision"] == "approve"
    assert results[1]["status"] == 422 and results[1]["errors"][0]["path"] == "sectors[0]"
    assert results[1]["instance"].endswith("#/proposals/1")
    assert results[1]["reference"] == "BAD-7"  # the caller finds its proposal by reference
    assert results[2]["status"] == 422 and results[2]["errors"][0]["path"] == "$"
    assert "reference" not in results[2]
    assert count(app) == 2
    for item in (results[0], results[3]):
        got = client.get(f"/v1/assessments/{item['id']}", headers=auth("auditor"))
        assert got.json == item


@pytest.mark.parametrize(("body", "status"), [
    ({"proposals": []}, 422),
    ({"proposals": {}}, 422),
    ({"items": []}, 422),
    ({"proposals": [], "extra": 1}, 422),
    ([], 422),
])
def test_batch_envelope_errors(client: FlaskClient, body: Any, status: int) -> None:
    response = client.post("/v1/assessments:batch", json=body, headers=auth("submitter"))
    assert response.status_code == status
    assert response.content_type == PROBLEM


def test_batch_over_the_configured_size_is_413(make_app: Any, db_url: str) -> None:
    app = make_app(DATABASE_URL=db_url, MAX_BATCH=2)
    response = app.test_client().post(
        "/v1/assessments:batch", json={"proposals": [proposal()] * 3}, headers=auth("submitter"))
    assert response.status_code == 413
    assert "at most 2" in response.json["detail"]
    assert count(app) == 0


def test_unknown_assessment_is_404(client: FlaskClient) -> None:
    for path in ("/v1/assessments/nope", "/v1/assessments/" + "x" * 100):
        response = client.get(path, headers=auth("auditor"))
        assert response.status_code == 404
        assert response.content_type == PROBLEM


def test_listing_is_newest_first_with_cursor_and_filters(client: FlaskClient) -> None:
    ids = []
    for country, ref in [("US", "A"), ("RU", "B"), ("KP", "C"), ("US", "D"), ("CN", "E")]:
        ids.append(post(client, proposal(country, reference=ref)).json["id"])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/assessments", query_string=query, headers=auth("auditor"))
        assert page.status_code == 200
        seen += [item["id"] for item in page.json["items"]]
        cursor = page.json["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == list(reversed(ids)) and pages == 3

    def refs(**query: str) -> list[str]:
        page = client.get("/v1/assessments", query_string=query, headers=auth("auditor"))
        assert page.status_code == 200, page.json
        return [item["reference"] for item in page.json["items"]]

    assert refs(decision="approve") == ["D", "A"]
    assert refs(band="high") == ["E", "C", "B"]  # the knockout (C) keeps its band
    assert refs(decision="reject") == ["C"]
    assert refs(reference="C") == ["C"]
    assert refs(since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00Z") == []
    assert refs(since="2000-01-01T00:00:00+02:00") == ["E", "D", "C", "B", "A"]


@pytest.mark.parametrize("query", [
    {"limit": "0"}, {"limit": "x"}, {"limit": "501"}, {"decision": "maybe"},
    {"cursor": "garbage"}, {"since": "2026-01-01"}, {"colour": "red"},
])
def test_listing_rejects_bad_queries(client: FlaskClient, query: dict[str, str]) -> None:
    response = client.get("/v1/assessments", query_string=query, headers=auth("auditor"))
    assert response.status_code == 400
    assert response.content_type == PROBLEM
    assert response.json["errors"]
