"""The OpenAPI document is valid, covers every route, and real responses conform to it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.api.support import auth, proposal


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json
    return doc


def conforms(spec: dict[str, Any], component: str, instance: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(instance), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_route_is_documented(app: Flask, spec: dict[str, Any]) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "ops.docs"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "{\\1}", rule.rule)
        path = path.replace("{assessment_id}", "{id}").replace("{rule_id}", "{id}")
        assert path in spec["paths"], path
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (method, path)


def test_the_proposal_schema_is_strict(spec: dict[str, Any]) -> None:
    proposal_schema = spec["components"]["schemas"]["Proposal"]
    assert proposal_schema["additionalProperties"] is False
    assert "title" in proposal_schema["required"]
    conforms(spec, "Proposal", proposal("RU"))
    bad = proposal()
    bad["sectors"] = ["nope"]
    with pytest.raises(AssertionError):
        conforms(spec, "Proposal", bad)


def test_real_responses_conform(client: FlaskClient, spec: dict[str, Any]) -> None:
    created = client.post("/v1/assessments", json=proposal("RU"), headers=auth("submitter"))
    conforms(spec, "Assessment", created.json)
    conforms(spec, "Assessment", client.post(
        "/v1/assessments", json=proposal("KP"), headers=auth("submitter")).json)
    conforms(spec, "AssessmentPage", client.get("/v1/assessments", query_string={"limit": 1},
                                                headers=auth("auditor")).json)
    bad = proposal()
    bad["title"] = ""
    batch = client.post("/v1/assessments:batch", json={"proposals": [proposal(), bad]},
                        headers=auth("submitter")).json
    conforms(spec, "BatchResponse", batch)
    conforms(spec, "Ruleset", client.get("/v1/ruleset", headers=auth("auditor")).json)
    conforms(spec, "RulesPage", client.get("/v1/rules", headers=auth("auditor")).json)
    conforms(spec, "Rule", client.get("/v1/rules/SEC-001", headers=auth("auditor")).json)
    conforms(spec, "ReloadResponse", client.post("/v1/ruleset:reload",
                                                 headers=auth("admin")).json)
    conforms(spec, "Health", client.get("/readyz").json)
    for problem in (client.post("/v1/assessments", json=bad, headers=auth("submitter")),
                    client.get("/v1/assessments"), client.get("/nowhere")):
        conforms(spec, "Problem", problem.json)


def test_the_docs_page_is_self_contained(client: FlaskClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.data.decode()
    assert "/v1/assessments:batch" in text and "Proposal" in text
    assert "http://" not in text and "https://" not in text  # no CDN assets
