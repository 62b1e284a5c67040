"""The interface as clients use it, on SQLite and PostgreSQL: who reads what (roles),
idempotent retries (numbers spelled differently, batches), response headers, encodings, the
body limit and the byte budget of a listing page."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.store import Filters, Store
from tests.api.support import auth, proposal

PROBLEM = "application/problem+json"
LIMIT = 1024 * 1024


@pytest.fixture
def app(make_app: Any, db_url: str) -> Flask:
    return make_app(DATABASE_URL=db_url)


def store_of(app: Flask) -> Store:
    store: Store = app.extensions["riskrules"].store
    return store


def post(client: FlaskClient, body: Any, key: str, path: str = "/v1/assessments",
         **headers: str) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json",
                       headers={**auth(key), **headers})


# ---------------------------------------------------------------------------------------------
# roles: a submitter reads its own, an auditor reads all, admin holds every role


def test_a_submitter_reads_what_it_created_and_nothing_else(client: FlaskClient) -> None:
    mine = post(client, proposal(reference="mine"), "submitter")
    theirs = post(client, proposal(reference="theirs"), "submitter2")
    assert mine.status_code == theirs.status_code == 201
    read = client.get(mine.headers["Location"], headers=auth("submitter"))
    assert read.status_code == 200 and read.data == mine.data
    hidden = client.get(theirs.headers["Location"], headers=auth("submitter"))
    assert hidden.status_code == 404 and hidden.mimetype == PROBLEM
    listed = client.get("/v1/assessments", headers=auth("submitter"))
    assert listed.status_code == 200
    assert [item["reference"] for item in listed.json["items"]] == ["mine"]
    # a filter cannot widen what a submitter sees
    other = client.get("/v1/assessments", query_string={"reference": "theirs"},
                       headers=auth("submitter"))
    assert other.json["items"] == []


def test_a_batch_submitter_reads_its_batch(client: FlaskClient) -> None:
    done = post(client, {"proposals": [proposal(reference="b1"), proposal(reference="b2")]},
                "submitter", "/v1/assessments:batch")
    for item in done.json["results"]:
        read = client.get(f"/v1/assessments/{item['id']}", headers=auth("submitter"))
        assert read.status_code == 200 and read.json == item


def test_an_auditor_reads_every_assessment_and_cannot_submit(client: FlaskClient) -> None:
    created = [post(client, proposal(reference=key), key).json for key in
               ("submitter", "submitter2")]
    for doc in created:
        assert client.get(f"/v1/assessments/{doc['id']}", headers=auth("auditor")
                          ).status_code == 200
    listed = client.get("/v1/assessments", headers=auth("auditor")).json["items"]
    assert sorted(item["reference"] for item in listed) == ["submitter", "submitter2"]
    assert post(client, proposal(), "auditor").status_code == 403


def test_admin_holds_every_role(client: FlaskClient) -> None:
    created = post(client, proposal(reference="by-admin"), "admin")
    assert created.status_code == 201, created.json
    batch = post(client, {"proposals": [proposal()]}, "admin", "/v1/assessments:batch")
    assert batch.status_code == 200
    other = post(client, proposal(reference="by-submitter"), "submitter")
    for location in (created.headers["Location"], other.headers["Location"]):
        assert client.get(location, headers=auth("admin")).status_code == 200
    assert len(client.get("/v1/assessments", headers=auth("admin")).json["items"]) == 3


# ---------------------------------------------------------------------------------------------
# idempotency


def test_numbers_equal_as_json_values_replay_the_same_assessment(client: FlaskClient,
                                                                 app: Flask) -> None:
    first = proposal()
    first["payments"] = {"usd_share": 1, "currencies": ["USD"]}
    first["deal"]["value"] = {"amount": 100, "currency": "USD"}
    text = json.dumps(first)
    spelled = (text.replace('"usd_share": 1', '"usd_share": 1.0')
               .replace('"amount": 100', '"amount": 1e2'))
    assert spelled != text
    created = post(client, text, "submitter", **{"Idempotency-Key": "k-1"})
    again = post(client, spelled, "submitter", **{"Idempotency-Key": "k-1"})
    assert (created.status_code, again.status_code) == (201, 200), again.json
    assert again.headers["Idempotent-Replayed"] == "true" and again.data == created.data
    changed = post(client, text.replace('"usd_share": 1', '"usd_share": 0.5'), "submitter",
                   **{"Idempotency-Key": "k-1"})
    assert changed.status_code == 409 and changed.mimetype == PROBLEM
    assert store_of(app).count() == 1


def test_a_retried_batch_is_stored_once_and_answered_identically(client: FlaskClient,
                                                                  app: Flask) -> None:
    invalid = proposal()
    invalid["deal"]["type"] = "unknown"
    body = {"proposals": [proposal(reference="x1"), invalid, proposal("KP", reference="x2")]}
    key = {"Idempotency-Key": "batch-1"}
    first = post(client, body, "submitter", "/v1/assessments:batch", **key)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    assert [r.get("status") for r in first.json["results"]] == [None, 422, None]
    reordered = json.dumps({"proposals": [json.loads(json.dumps(p, sort_keys=True))
                                          for p in body["proposals"]]}, indent=2)
    for retry in (body, reordered):
        again = post(client, retry, "submitter", "/v1/assessments:batch", **key)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.data == first.data
    assert store_of(app).count() == 2
    # the same key with another batch is a conflict, and stores nothing
    other = post(client, {"proposals": [proposal(reference="x3")]}, "submitter",
                 "/v1/assessments:batch", **key)
    assert other.status_code == 409 and other.mimetype == PROBLEM
    # keys are scoped per API key: another key's batch with the same Idempotency-Key is new
    theirs = post(client, body, "submitter2", "/v1/assessments:batch", **key)
    assert theirs.status_code == 200 and "Idempotent-Replayed" not in theirs.headers
    assert store_of(app).count() == 4
    # a batch without a key is scored and stored again, as before
    assert post(client, body, "submitter", "/v1/assessments:batch").status_code == 200
    assert store_of(app).count() == 6


def test_an_idempotent_batch_whose_problems_quote_control_characters_replays(
        client: FlaskClient, app: Flask) -> None:
    """A refused item's problem (kept for the replay) may quote a control character from the
    request, as in an unknown key: it is stored escaped, which PostgreSQL accepts."""
    odd = proposal()
    odd["ti\u0000tle\u001b"] = "x"
    body = {"proposals": [proposal(reference="ok"), odd, proposal(reference="A\u0000B")]}
    key = {"Idempotency-Key": "nul-batch"}
    first = post(client, body, "submitter", "/v1/assessments:batch", **key)
    assert first.status_code == 200, first.get_data(as_text=True)[:300]
    assert [r.get("status") for r in first.json["results"]] == [None, 422, 422]
    again = post(client, body, "submitter", "/v1/assessments:batch", **key)
    assert again.status_code == 200 and again.data == first.data
    assert again.headers["Idempotent-Replayed"] == "true"
    assert store_of(app).count() == 1


def test_a_batch_that_loses_the_race_for_its_key_stores_nothing(client: FlaskClient,
                                                                  app: Flask) -> None:
    """Two workers score the same batch at once: the second insert fails on the unique key,
    its assessments are rolled back with it, and it answers with the first one's results."""
    key = {"Idempotency-Key": "race"}
    body = {"proposals": [proposal(reference="r1"), proposal(reference="r2")]}
    store = store_of(app)
    real = store.find_idempotent_batch
    calls = []

    def miss_once(*args: Any) -> Any:
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    first = post(client, body, "submitter", "/v1/assessments:batch", **key)
    store.find_idempotent_batch = miss_once  # type: ignore[method-assign]
    try:
        second = post(client, body, "submitter", "/v1/assessments:batch", **key)
    finally:
        store.find_idempotent_batch = real  # type: ignore[method-assign]
    assert len(calls) == 2  # the replay lookup (made to miss), the lookup after the insert
    assert second.status_code == 200 and second.data == first.data
    assert store.count() == 2


# ---------------------------------------------------------------------------------------------
# headers, encodings, limits


@pytest.mark.parametrize(("method", "path", "key"), [
    ("GET", "/v1/assessments", "auditor"), ("GET", "/v1/ruleset", "auditor"),
    ("GET", "/v1/assessments/nope", "auditor"), ("GET", "/v1/assessments", None),
    ("GET", "/healthz", None), ("GET", "/openapi.json", None), ("POST", "/v1/assessments",
                                                                "submitter"),
])
def test_every_answer_forbids_sniffing_and_caching(client: FlaskClient, method: str, path: str,
                                                   key: str | None) -> None:
    headers = auth(key) if key else {}
    response = client.open(path, method=method, headers=headers,
                           json=proposal() if method == "POST" else None)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "GZIP", "identity, gzip", "x"])
@pytest.mark.parametrize("path", ["/v1/assessments", "/v1/assessments:batch"])
def test_a_content_encoding_other_than_identity_is_415(client: FlaskClient, app: Flask,
                                                       encoding: str, path: str) -> None:
    body = proposal() if path == "/v1/assessments" else {"proposals": [proposal()]}
    response = post(client, body, "submitter", path, **{"Content-Encoding": encoding})
    assert response.status_code == 415 and response.mimetype == PROBLEM
    assert response.headers["Accept-Encoding"] == "identity"
    assert store_of(app).count() == 0
    plain = post(client, body, "submitter", path, **{"Content-Encoding": "identity"})
    assert plain.status_code in (200, 201)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(
        client: FlaskClient, app: Flask, chunked: bool) -> None:
    text = json.dumps(proposal()).encode()
    exact = text + b" " * (LIMIT - len(text))
    assert len(exact) == LIMIT

    def send(body: bytes) -> Any:
        headers = {**auth("submitter"), "Content-Type": "application/json"}
        if chunked:  # no Content-Length: the server reads until the end of the stream
            return client.post("/v1/assessments", headers=headers, input_stream=io.BytesIO(body),
                               environ_overrides={"wsgi.input_terminated": True})
        return client.post("/v1/assessments", headers=headers, data=body)

    accepted = send(exact)
    assert accepted.status_code == 201, accepted.get_data(as_text=True)[:300]
    over = send(exact + b" ")
    assert over.status_code == 413 and over.mimetype == PROBLEM
    assert f"limit of {LIMIT} bytes" in over.json["detail"]
    assert store_of(app).count() == 1


def test_a_page_holds_at_most_its_byte_budget_and_the_cursor_continues(make_app: Any,
                                                                       db_url: str) -> None:
    writer = make_app(DATABASE_URL=db_url).test_client()
    created = [post(writer, proposal("RU", reference=f"p{i}", summary="s" * 900),
                    "submitter").json["id"] for i in range(7)]
    app = make_app(DATABASE_URL=db_url, MAX_PAGE_BYTES=1024)
    sizes = {len(r.assessment_json.encode()) for r in store_of(app).iter_all(Filters())}
    assert len(sizes) == 1 and min(sizes) > 1024
    size = sizes.pop()
    budget = 2 * size + size // 2  # two fit, three do not
    client = make_app(DATABASE_URL=db_url, MAX_PAGE_BYTES=budget).test_client()
    seen: list[str] = []
    pages = []
    cursor = None
    while True:
        query = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/assessments", query_string=query, headers=auth("auditor"))
        assert page.status_code == 200
        items = page.json["items"]
        pages.append(len(items))
        seen += [i["id"] for i in items]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert pages == [2, 2, 2, 1]
    assert seen == created[::-1]
    # a budget smaller than one assessment still returns one per page
    first = app.test_client().get("/v1/assessments", headers=auth("auditor")).json
    assert len(first["items"]) == 1 and first["next_cursor"] is not None
    # and `limit` still bounds the count when the budget would allow more
    two = client.get("/v1/assessments", query_string={"limit": 1}, headers=auth("auditor")).json
    assert len(two["items"]) == 1
