"""Screening over HTTP: names without letters are refused naming the field, the screening
record is part of the stored assessment, /readyz reports the lists' state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.api.support import auth

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "crypto-rail-sberbank.json"


@pytest.fixture
def bundled(make_app: Any) -> Flask:
    app: Flask = make_app(RULES_DIR=str(REPO / "rules"))
    return app


def proposal() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(("path", "value"), [
    (("counterparties", 0, "name"), "\u200b"),
    (("counterparties", 0, "name"), " - "),
    (("initiator", "name"), "123"),
    (("counterparties", 0, "aliases"), ["Sber", "\u00ad"]),
])
def test_a_name_without_letters_is_refused_naming_the_field(bundled: Flask,
                                                            path: tuple[Any, ...],
                                                            value: Any) -> None:
    body = proposal()
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    response = bundled.test_client().post("/v1/assessments", json=body,
                                          headers=auth("submitter"))
    assert response.status_code == 422, response.json
    fields = [e["path"] for e in response.json["errors"]]
    expected = ".".join(str(p) for p in path).replace(".0.", "[0].")
    if isinstance(value, list):
        expected += "[1]"
    assert expected in fields
    assert any("letter" in e["message"] for e in response.json["errors"])


def test_the_screening_record_is_stored_with_the_assessment(bundled: Flask) -> None:
    client = bundled.test_client()
    created = client.post("/v1/assessments", json=proposal(), headers=auth("submitter"))
    assert created.status_code == 201
    record = created.json["screening"]
    assert record["lists"][0]["name"] == "sdn_sample"
    assert {p["path"] for p in record["parties"]} >= {"initiator", "counterparties[0]"}
    stored = client.get(f"/v1/assessments/{created.json['id']}", headers=auth("auditor"))
    assert stored.json["screening"] == record


def test_readyz_reports_the_lists(bundled: Flask) -> None:
    ready = bundled.test_client().get("/readyz")
    assert ready.status_code == 200
    screening = ready.json["screening"]
    assert screening["sample"] is True and screening["stale"] is False
    sdn = next(w for w in screening["lists"] if w["name"] == "sdn_sample")
    assert sdn["entries"] == 43 and sdn["digest"].startswith("sha256:")


def test_readyz_warns_about_a_list_gone_stale(make_app: Any, tmp_path: Path) -> None:
    import shutil
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    text = (root / "pack.yaml").read_text(encoding="utf-8")
    (root / "pack.yaml").write_text(text.replace("screening:\n", "screening:\n  max_age_days: 1\n",
                                                 1), encoding="utf-8")
    for path in (root / "watchlists").glob("*.yaml"):
        body = path.read_text(encoding="utf-8")
        path.write_text(body.replace("as_of: 20", "as_of: 19", 1), encoding="utf-8")
    app: Flask = make_app(RULES_DIR=str(root))
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json["screening"]["stale"] is True
    assert any("is stale" in w for w in ready.json["warnings"])
