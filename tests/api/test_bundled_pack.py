"""The API on the bundled pack (rules/) and the example corpus (examples/): what users will run.

Every example scores through the batch endpoint; each assessment conforms to the OpenAPI
document and equals what the engine gives the command line, apart from `id` and `created_at`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from engine import load_pack
from tests.api.support import auth

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))


@pytest.fixture
def bundled(make_app: Any) -> Flask:
    app: Flask = make_app(RULES_DIR=str(REPO / "rules"))
    return app


def test_examples_score_store_and_match_the_engine(bundled: Flask) -> None:
    assert EXAMPLES, "examples/ is empty"
    proposals = [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES]
    client = bundled.test_client()
    response = client.post("/v1/assessments:batch", json={"proposals": proposals},
                           headers=auth("submitter"))
    assert response.status_code == 200
    results = response.json["results"]
    problems = {EXAMPLES[i].name: r.get("errors") for i, r in enumerate(results)
                if "status" in r}
    assert not problems
    spec = client.get("/openapi.json").json
    validator = Draft202012Validator({"$ref": "#/components/schemas/Assessment",
                                      "components": spec["components"]})
    pack = load_pack(REPO / "rules")
    try:
        for proposal, result in zip(proposals, results, strict=True):
            assert not list(validator.iter_errors(result))
            created = datetime.fromisoformat(result["created_at"]).astimezone(UTC)
            expected = pack.assess(proposal, created_at=created).to_dict()
            assert {k: v for k, v in result.items() if k != "id"} == {
                k: v for k, v in expected.items() if k != "id"}
    finally:
        pack.close()
    decisions = {r["decision"] for r in results}
    assert {"approve", "reject"} <= decisions  # the corpus spans the range
    one = client.get(f"/v1/assessments/{results[0]['id']}", headers=auth("auditor"))
    assert one.json == results[0]
