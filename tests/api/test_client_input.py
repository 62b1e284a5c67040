"""Client input that used to reach the store and fail there, on SQLite and PostgreSQL alike.

Each case once answered 500 or 503 on one backend and something else on the other (a cursor
of 2^63, a `since` that overflows once converted to UTC, a NUL in free text): every one must
now be refused the same way on both, with a 400 or 422 problem document naming the field,
and leave nothing half-stored.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.service import encode_cursor
from api.store import MAX_SEQ, Store
from tests.api.support import auth, proposal

PROBLEM = "application/problem+json"


@pytest.fixture
def app(make_app: Any, db_url: str) -> Flask:
    return make_app(DATABASE_URL=db_url)


def store_of(app: Flask) -> Store:
    store: Store = app.extensions["riskrules"].store
    return store


def assert_problem(response: Any, status: int, path: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    assert response.mimetype == PROBLEM
    doc: dict[str, Any] = response.json
    assert path in [e["path"] for e in doc["errors"]], doc
    return doc


def raw_cursor(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "eyJ2IjoxLCJiZWZvcmUiOjkyMjMzNzIwMzY4NTQ3NzU4MDh9",  # {"v":1,"before":2^63}: the report
    raw_cursor({"v": 1, "before": 2**64}),
    raw_cursor({"v": 1, "before": 2**200}),
    raw_cursor({"v": 1, "before": -2**63 - 1}),
    raw_cursor({"v": 1, "before": 0}),
    raw_cursor({"v": 1, "before": 1.5}),
    raw_cursor({"v": 1, "before": True}),
    raw_cursor({"v": True, "before": 5}),
    raw_cursor({"v": 2**64, "before": 5}),
    raw_cursor({"v": 1, "before": 5, "extra": "x" * 50}),
    raw_cursor([1, 5]),
    raw_cursor({"v": 1, "before": "5"}),
    "ey+/",  # standard base64 alphabet, not the URL-safe one
])
def test_out_of_range_cursors_are_400_on_both_stores(client: FlaskClient, cursor: str) -> None:
    response = client.get("/v1/assessments", query_string={"cursor": cursor},
                          headers=auth("auditor"))
    assert_problem(response, 400, "cursor")


def test_cursors_at_the_bounds_are_accepted(client: FlaskClient) -> None:
    assert client.post("/v1/assessments", json=proposal(), headers=auth("submitter")
                       ).status_code == 201
    for before, count in ((MAX_SEQ, 1), (1, 0)):
        response = client.get("/v1/assessments", query_string={"cursor": encode_cursor(before)},
                              headers=auth("auditor"))
        assert response.status_code == 200, response.json
        assert len(response.json["items"]) == count


@pytest.mark.parametrize(("name", "value"), [
    ("since", "0001-01-01T00:00:00+14:00"),
    ("since", "9999-12-31T23:59:59-23:59"),
    ("until", "0001-01-01T00:00:00+00:01"),
    ("until", "9999-12-31T23:59:59-00:01"),
])
def test_dates_that_overflow_in_utc_are_400_on_both_stores(client: FlaskClient, name: str,
                                                          value: str) -> None:
    response = client.get("/v1/assessments", query_string={name: value}, headers=auth("auditor"))
    assert_problem(response, 400, name)


def test_dates_at_the_ends_of_the_range_are_accepted(client: FlaskClient) -> None:
    assert client.post("/v1/assessments", json=proposal(), headers=auth("submitter")
                       ).status_code == 201
    for query, count in (({"since": "0001-01-01T00:00:00Z"}, 1),
                         ({"since": "0001-01-01T14:00:00+14:00"}, 1),
                         ({"until": "9999-12-31T23:59:59Z"}, 1),
                         ({"since": "9999-12-31T00:00:00-23:59"}, 0)):
        response = client.get("/v1/assessments", query_string=query, headers=auth("auditor"))
        assert response.status_code == 200, (query, response.json)
        assert len(response.json["items"]) == count, query


# Every C0 control character but tab, LF and CR is refused in free text (engine.language.contract).
REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f"]


@pytest.mark.parametrize("char", REFUSED)
@pytest.mark.parametrize(("field", "path"), [
    ("reference", "reference"), ("title", "title"), ("summary", "summary"),
    ("counterparties.0.name", "counterparties[0].name"),
])
def test_control_characters_in_free_text_are_422_naming_the_field(
        client: FlaskClient, app: Flask, char: str, field: str, path: str) -> None:
    body = proposal()
    node: Any = body
    parts = field.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    node[parts[-1]] = f"A{char}B"
    response = client.post("/v1/assessments", json=body, headers=auth("submitter"))
    doc = assert_problem(response, 422, path)
    assert f"U+{ord(char):04X}" in json.dumps(doc)
    assert store_of(app).count() == 0


def test_tab_newline_and_other_unicode_are_stored_verbatim(client: FlaskClient, app: Flask) -> None:
    text = "line one\r\nline\ttwo \u00e9\u4e2d\u200b\U0001f680 \x7f \u0085"
    body = proposal(reference="R\tÉ", summary=text)
    created = client.post("/v1/assessments", json=body, headers=auth("submitter"))
    assert created.status_code == 201, created.json
    stored = store_of(app).get(created.json["id"])
    assert stored is not None and stored.proposal == body
    listed = client.get("/v1/assessments", query_string={"reference": "R\tÉ"},
                        headers=auth("auditor"))
    assert [item["id"] for item in listed.json["items"]] == [created.json["id"]]


def test_a_batch_with_a_nul_refuses_that_item_and_stores_the_others(
        client: FlaskClient, app: Flask) -> None:
    bad = proposal(reference="A\u0000B")
    response = client.post("/v1/assessments:batch",
                           json={"proposals": [proposal(reference="ok-1"), bad,
                                               proposal(reference="ok-2")]},
                           headers=auth("submitter"))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    first, problem, third = response.json["results"]
    assert problem["status"] == 422 and [e["path"] for e in problem["errors"]] == ["reference"]
    assert first["reference"] == "ok-1" and third["reference"] == "ok-2"
    assert store_of(app).count() == 2


@pytest.mark.parametrize("query", [
    {"reference": "\x00"}, {"reference": "A\x00B"}, {"reference": "\x1b[31m"},
])
def test_control_characters_in_query_parameters_are_400(client: FlaskClient,
                                                        query: dict[str, str]) -> None:
    response = client.get("/v1/assessments", query_string=query, headers=auth("auditor"))
    assert_problem(response, 400, "reference")


def test_control_characters_in_path_ids_are_404_without_a_lookup(client: FlaskClient) -> None:
    for ident in ("abc\x00def", "\x00", "a\x1fb"):
        response = client.get(f"/v1/assessments/{ident}", headers=auth("auditor"))
        assert response.status_code == 404 and response.mimetype == PROBLEM
