"""The OpenAPI document is valid, covers every route, and real responses conform to it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.api.support import auth, proposal

REPO = Path(__file__).resolve().parents[2]


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
        if rule.endpoint in ("static", "ops.docs") or rule.endpoint.startswith("web."):
            continue  # the workbench's HTML pages are not the JSON API
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
    # settings are named as operators set them (RISKRULES_MAX_BATCH), never by internal names
    assert "RISKRULES_MAX_BATCH" in text
    assert "MAX_BATCH" not in text.replace("RISKRULES_MAX_BATCH", "")


# ---------------------------------------------------------------------------------------------
# every key of a real response is declared (the response schemas are closed)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


# A schema made only of these keys declares "any JSON value" on purpose (an evidence value is
# whatever the rule read: a list of parties for an `exists` test on `end_users`).
ANY_VALUE_KEYS = {"description", "nullable"}


def undeclared(spec: dict[str, Any], schema: dict[str, Any], instance: Any,
               path: str = "$", seen: set[str] | None = None) -> list[str]:
    """Where `instance` holds a key its schema does not declare, or an object whose schema is
    not closed (`additionalProperties: false`), walking the whole document; `seen` collects
    every path walked (list items as `[]`)."""
    schema = _resolve(spec, schema)
    if seen is not None:
        seen.add(path)
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches:  # the branch that fits best (a batch result: Assessment or Problem)
        tried = [undeclared(spec, b, instance, path, seen) for b in branches]
        return min(tried, key=len)
    found: list[str] = []
    if isinstance(instance, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is not None:
            if extra is not False:
                found.append(f"{path}: the schema is open (additionalProperties is not false)")
            for key, value in instance.items():
                if key not in properties:
                    found.append(f"{path}.{key}")
                else:
                    found += undeclared(spec, properties[key], value, f"{path}.{key}", seen)
        elif isinstance(extra, dict):  # a map: every value has the same schema
            for key, value in instance.items():
                found += undeclared(spec, extra, value, f"{path}.{key}", seen)
        elif set(schema) - ANY_VALUE_KEYS:  # an object where the schema declares nothing about its keys
            found.append(f"{path}: an object whose keys the schema does not declare")
    elif isinstance(instance, list):
        for item in instance:
            found += undeclared(spec, schema.get("items", {}), item, f"{path}[]", seen)
    return found


@pytest.fixture
def bundled(make_app: Any, tmp_path: Path) -> FlaskClient:
    """The bundled pack (floors, knockouts, legal bases, screening) on a copy of its files,
    so that the reload can also be shown a broken pack."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    app = make_app(RULES_DIR=str(rules))
    app.config["RULES_COPY"] = rules
    return app.test_client()


def real_responses(client: FlaskClient) -> list[tuple[str, Any]]:
    """(component, body) of every kind of answer, from every example proposal."""
    examples = [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((REPO / "examples").glob("*.json"))]
    assert len(examples) >= 20
    out: list[tuple[str, Any]] = []
    ids = []
    for example in examples:
        created = client.post("/v1/assessments", json=example, headers=auth("submitter"))
        assert created.status_code == 201, created.json
        out.append(("Assessment", created.json))
        ids.append(created.json["id"])
    bad = dict(examples[0], title="")
    batch = client.post("/v1/assessments:batch", json={"proposals": [*examples[:5], bad]},
                        headers=auth("submitter"))
    out.append(("BatchResponse", batch.json))
    out.append(("Assessment", client.get(f"/v1/assessments/{ids[0]}",
                                         headers=auth("auditor")).json))
    out.append(("AssessmentPage", client.get("/v1/assessments", query_string={"limit": 500},
                                             headers=auth("auditor")).json))
    out.append(("Ruleset", client.get("/v1/ruleset", headers=auth("auditor")).json))
    rules = client.get("/v1/rules", headers=auth("auditor")).json
    out.append(("RulesPage", rules))
    for rule in rules["items"][:5]:
        out.append(("Rule", client.get(f"/v1/rules/{rule['id']}", headers=auth("auditor")).json))
    out.append(("ReloadResponse", client.post("/v1/ruleset:reload", headers=auth("admin")).json))
    out.append(("Health", client.get("/healthz").json))
    out.append(("Health", client.get("/readyz").json))
    problems = [
        client.post("/v1/assessments", json=bad, headers=auth("submitter")),
        client.get("/v1/assessments"), client.get("/nowhere"),
        client.delete("/v1/assessments", headers=auth("all")),
        client.get("/v1/assessments", query_string={"limit": 0}, headers=auth("auditor")),
        client.post("/v1/assessments", data="{", content_type="application/json",
                    headers=auth("submitter")),
        client.post("/v1/assessments", data="{}", content_type="text/plain",
                    headers=auth("submitter")),
        client.post("/v1/assessments", json=examples[0], headers=auth("auditor")),
    ]
    rules_dir: Path = client.application.config["RULES_COPY"]
    broken = sorted(rules_dir.glob("*.yaml"))[-1]
    broken.write_text(broken.read_text(encoding="utf-8") + "\n- id: [unclosed\n",
                      encoding="utf-8")
    problems.append(client.post("/v1/ruleset:reload", headers=auth("admin")))
    assert problems[-1].status_code == 422 and problems[-1].json.get("diagnostics")
    out += [("Problem", p.json) for p in problems]
    return out


def test_every_key_of_every_real_response_is_declared(bundled: FlaskClient) -> None:
    spec = bundled.get("/openapi.json").json
    seen: set[str] = set()
    problems: list[str] = []
    for component, body in real_responses(bundled):
        problems += [f"{component} {p}" for p in undeclared(
            spec, {"$ref": f"#/components/schemas/{component}"}, body, seen=seen)]
    assert not problems, sorted(set(problems))
    # the examples reach deep into the documents, through every kind of list
    for deep in ("$.factors[].rules[].evidence[].value", "$.knockouts[].legal_basis[].url",
                 "$.floors[].at_least", "$.unsettled[].paths", "$.checked_clear[].kind",
                 "$.results[].factors[].inherent_score", "$.items[].as_of",
                 "$.results[].errors[].path", "$.diagnostics[].line", "$.checks.pack"):
        assert deep in seen, deep


def test_an_undeclared_key_is_found_at_any_depth(client: FlaskClient,
                                                 spec: dict[str, Any]) -> None:
    doc = client.post("/v1/assessments", json=proposal("RU"), headers=auth("submitter")).json
    ref = {"$ref": "#/components/schemas/Assessment"}
    assert undeclared(spec, ref, doc) == []
    doc["new_top"] = 1
    doc["factors"][0]["rules"][0]["evidence"][0]["new_deep"] = True
    doc["ruleset"]["new_nested"] = "x"
    assert sorted(undeclared(spec, ref, doc)) == [
        "$.factors[].rules[].evidence[].new_deep", "$.new_top", "$.ruleset.new_nested"]
    page = {"items": [doc], "next_cursor": None, "surprise": 1}
    assert "$.surprise" in undeclared(spec, {"$ref": "#/components/schemas/AssessmentPage"},
                                      page)


def test_every_response_schema_is_closed(spec: dict[str, Any]) -> None:
    for name, schema in spec["components"]["schemas"].items():
        if "properties" in schema:
            assert schema.get("additionalProperties") is False, name
