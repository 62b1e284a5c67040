"""Human dispositions over HTTP: append-only history, reviewer identity, four eyes, filters,
problem documents, `?what_if=true`; on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.responses import AssessmentSchema, DispositionSchema
from tests.api.support import PACK_DIR, auth, proposal

LATER = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()


@pytest.fixture
def four_eyes_pack(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(PACK_DIR, root)
    with (root / "pack.yaml").open("a", encoding="utf-8") as handle:
        handle.write("review:\n  four_eyes: true\n")
    return root


@pytest.fixture
def app(make_app: Any, db_url: str, four_eyes_pack: Path) -> Flask:
    return make_app(DATABASE_URL=db_url, RULES_DIR=str(four_eyes_pack))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _create(client: FlaskClient, country: str, reference: str = "PRJ-1") -> dict[str, Any]:
    response = client.post("/v1/assessments", json=proposal(country, reference),
                           headers=auth("submitter"))
    assert response.status_code == 201
    body: dict[str, Any] = response.get_json()
    return body


def _record(client: FlaskClient, assessment_id: str, who: str = "reviewer",
            **body: Any) -> Any:
    body.setdefault("reason", "checked the ownership register")
    return client.post(f"/v1/assessments/{assessment_id}/dispositions", json=body,
                       headers=auth(who))


def test_record_then_read_back_in_the_assessment(client: FlaskClient) -> None:
    created = _create(client, "US")
    response = _record(client, created["id"], decision="approve",
                       conditions=["annual re-screening"], expires_on=LATER)
    assert response.status_code == 201, response.get_json()
    recorded = response.get_json()
    assert recorded["reviewer"] == "reviewer"
    assert recorded["status"] == "final" and recorded["supersedes"] is None
    assert recorded["conditions"] == ["annual re-screening"]
    assert recorded["expires_on"] == LATER
    got = client.get(f"/v1/assessments/{created['id']}", headers=auth("auditor")).get_json()
    assert got["disposition"]["current"] == recorded
    assert got["disposition"]["effective_decision"] == "approve"
    # everything else is the creation response, unchanged
    assert {k: v for k, v in got.items() if k != "disposition"} == created
    assert AssessmentSchema().validate(got) == {}  # every key declared (closed schemas)
    assert DispositionSchema().validate(recorded) == {}


def test_a_new_disposition_supersedes_and_never_overwrites(client: FlaskClient) -> None:
    created = _create(client, "US")
    first = _record(client, created["id"], decision="request_information").get_json()
    second = _record(client, created["id"], "reviewer2", decision="reject",
                     reason="owner is listed").get_json()
    assert second["supersedes"] == first["id"]
    history = client.get(f"/v1/assessments/{created['id']}/dispositions",
                         headers=auth("auditor")).get_json()["items"]
    assert [d["id"] for d in history] == [second["id"], first["id"]]
    assert history[1] == first  # the first is kept exactly as recorded
    got = client.get(f"/v1/assessments/{created['id']}", headers=auth("auditor")).get_json()
    assert got["disposition"]["effective_decision"] == "reject"
    assert got["disposition"]["current"]["reviewer"] == "reviewer2"


def test_without_a_disposition_the_document_is_the_creation_response(
        client: FlaskClient) -> None:
    created = _create(client, "US")
    response = client.get(f"/v1/assessments/{created['id']}", headers=auth("auditor"))
    assert response.get_json() == created
    assert "disposition" not in response.get_json()


def test_four_eyes_needs_a_second_different_reviewer(client: FlaskClient) -> None:
    escalated = _create(client, "RU")
    assert escalated["decision"] == "escalate"
    first = _record(client, escalated["id"], decision="approve").get_json()
    assert first["status"] == "awaiting_second_approval"
    got = client.get(f"/v1/assessments/{escalated['id']}", headers=auth("auditor")).get_json()
    assert got["disposition"]["effective_decision"] is None
    same = _record(client, escalated["id"], decision="approve")
    assert same.status_code == 409
    assert same.mimetype == "application/problem+json"
    assert same.get_json()["code"] == "RR631"
    second = _record(client, escalated["id"], "reviewer2", decision="approve").get_json()
    assert second["status"] == "final" and second["supersedes"] == first["id"]
    got = client.get(f"/v1/assessments/{escalated['id']}", headers=auth("auditor")).get_json()
    assert got["disposition"]["effective_decision"] == "approve"


def test_four_eyes_does_not_apply_to_approved_deals_or_other_decisions(
        client: FlaskClient) -> None:
    approved = _create(client, "US")
    assert _record(client, approved["id"], decision="approve").get_json()["status"] == "final"
    escalated = _create(client, "RU")
    assert _record(client, escalated["id"],
                   decision="reject").get_json()["status"] == "final"


def test_four_eyes_off_without_the_pack_setting(make_app: Any, db_url: str) -> None:
    client = make_app(DATABASE_URL=db_url).test_client()
    escalated = _create(client, "RU")
    assert _record(client, escalated["id"], decision="approve").get_json()["status"] == "final"


def test_four_eyes_apply_while_no_pack_is_loaded(make_app: Any, db_url: str, client: FlaskClient,
                                                tmp_path: Path) -> None:
    escalated = _create(client, "RU")
    broken = tmp_path / "broken"
    shutil.copytree(PACK_DIR, broken)
    (broken / "pack.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    unready = make_app(DATABASE_URL=db_url, RULES_DIR=str(broken)).test_client()
    assert unready.get("/readyz").status_code == 503
    first = _record(unready, escalated["id"], decision="approve")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "awaiting_second_approval"


def test_list_filters_on_disposition(client: FlaskClient) -> None:
    with_one = _create(client, "US", "A")
    without = _create(client, "US", "B")
    _record(client, with_one["id"], decision="approve")
    listed = client.get("/v1/assessments?disposition=with", headers=auth("auditor")).get_json()
    assert [i["id"] for i in listed["items"]] == [with_one["id"]]
    assert listed["items"][0]["disposition"]["current"]["decision"] == "approve"
    listed = client.get("/v1/assessments?disposition=without",
                        headers=auth("auditor")).get_json()
    assert [i["id"] for i in listed["items"]] == [without["id"]]
    assert client.get("/v1/assessments?disposition=maybe",
                      headers=auth("auditor")).status_code == 400


@pytest.mark.parametrize(("body", "field"), [
    ({"decision": "approve", "reason": "   "}, "reason"),
    ({"decision": "review", "reason": "x"}, "decision"),
    ({"decision": "approve"}, "reason"),
    ({"decision": "approve", "reason": "x", "extra": 1}, "extra"),
    ({"decision": "approve", "reason": "x", "expires_on": "tomorrow"}, "expires_on"),
    ({"decision": "approve", "reason": "x", "conditions": ["a"] * 21}, "conditions"),
    ({"decision": "approve", "reason": "bell \u0007"}, "reason"),
    ({"decision": "approve", "reason": "x", "expires_on": "2020-01-01"}, "expires_on"),
])
def test_invalid_dispositions_are_422_naming_the_field(client: FlaskClient, body: Any,
                                                       field: str) -> None:
    created = _create(client, "US")
    response = client.post(f"/v1/assessments/{created['id']}/dispositions", json=body,
                           headers=auth("reviewer"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in {e["path"] for e in response.get_json()["errors"]}
    history = client.get(f"/v1/assessments/{created['id']}/dispositions",
                         headers=auth("auditor")).get_json()
    assert history["items"] == []  # nothing half-written


def test_roles_and_unknown_assessment(client: FlaskClient) -> None:
    created = _create(client, "US")
    body = {"decision": "approve", "reason": "x"}
    url = f"/v1/assessments/{created['id']}/dispositions"
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=auth("auditor")).status_code == 403
    assert client.post(url, json=body, headers=auth("submitter")).status_code == 403
    assert client.get(url, headers=auth("submitter")).status_code == 403
    missing = client.post("/v1/assessments/nope/dispositions", json=body,
                          headers=auth("reviewer"))
    assert missing.status_code == 404
    assert client.post(url, data="x", content_type="text/plain",
                       headers=auth("reviewer")).status_code == 415
    assert client.post(url, json=[1], headers=auth("reviewer")).status_code == 422


def test_what_if_query_parameter(client: FlaskClient) -> None:
    created = _create(client, "RU")
    url = f"/v1/assessments/{created['id']}"
    got = client.get(url + "?what_if=true", headers=auth("auditor")).get_json()
    assert got["what_if"]["current"]["decision"] == created["decision"]
    assert set(got["what_if"]) == {"current", "missing_fields", "band_edge"}
    assert AssessmentSchema().validate(got) == {}
    assert "what_if" not in client.get(url, headers=auth("auditor")).get_json()
    assert client.get(url + "?what_if=perhaps", headers=auth("auditor")).status_code == 400


def test_an_expired_disposition_is_no_longer_in_force() -> None:
    from datetime import UTC, date, datetime

    from api.dispositions import FINAL, effective_decision, expired
    from api.store import Disposition

    record = Disposition(id="d", assessment_id="a", created_at=datetime(2026, 1, 1, tzinfo=UTC),
                         decision="approve", status=FINAL, reason="r", conditions=(),
                         expires_on=date(2026, 6, 30), reviewer="k", supersedes=None)
    assert effective_decision([record], date(2026, 6, 30)) == "approve"
    assert not expired([record], date(2026, 6, 30))
    assert effective_decision([record], date(2026, 7, 1)) is None
    assert expired([record], date(2026, 7, 1))
