"""The loaded pack over HTTP, reloads (good and bad pack), the holder's leases, the watcher."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.errors import NotReady
from api.metrics import Metrics
from api.service import PackService
from engine.holder import PackHolder
from tests.api.support import PACK_DIR, auth, proposal


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """A private, editable copy of the fixture pack."""
    target = tmp_path / "pack"
    shutil.copytree(PACK_DIR, target)
    return target


def test_ruleset_describes_the_loaded_pack(client: FlaskClient) -> None:
    doc = client.get("/v1/ruleset", headers=auth("submitter")).json
    assert doc["name"] == "api-fixture" and doc["version"] == "1.0.0"
    assert doc["digest"].startswith("sha256:") and len(doc["digest"]) == 71
    assert [(f["id"], f["weight"]) for f in doc["factors"]] == [("security", 1), ("money", 1)]
    assert [(b["name"], b["min_score"], b["decision"]) for b in doc["bands"]][-1] == (
        "critical", 75, "reject")
    assert doc["rule_count"] == 4 and doc["loaded_at"].endswith("Z")


def test_rules_with_source_positions_and_filters(client: FlaskClient) -> None:
    doc = client.get("/v1/rules", headers=auth("auditor")).json
    assert doc["count"] == 4
    first = doc["items"][0]
    assert first["id"] == "SEC-001" and first["kind"] == "risk" and first["tags"] == ["fixture"]
    assert first["position"]["file"].endswith("rules.yaml") and first["position"]["line"] == 2
    kinds = client.get("/v1/rules", query_string={"kind": "mitigation"},
                       headers=auth("auditor")).json
    assert [r["id"] for r in kinds["items"]] == ["SEC-002"]
    money = client.get("/v1/rules", query_string={"factor": "money"}, headers=auth("auditor"))
    assert [r["id"] for r in money.json["items"]] == ["MON-001"]
    assert client.get("/v1/rules", query_string={"kind": "x"},
                      headers=auth("auditor")).status_code == 400
    one = client.get("/v1/rules/KO-001", headers=auth("auditor"))
    assert one.status_code == 200 and one.json["kind"] == "knockout"
    missing = client.get("/v1/rules/NOPE", headers=auth("auditor"))
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_reload_swaps_in_the_edited_pack(make_app: Any, pack_dir: Path) -> None:
    app = make_app(RULES_DIR=str(pack_dir))
    client = app.test_client()
    before = client.get("/v1/ruleset", headers=auth("admin")).json["digest"]
    rules = pack_dir / "rules.yaml"
    rules.write_text(rules.read_text().replace("points: 100\n    when:\n      path: "
                                               "counterparties\n      some: {path: country, "
                                               "in_list: risky}", "points: 40\n    when:\n      "
                                               "path: counterparties\n      some: {path: "
                                               "country, in_list: risky}", 1))
    response = client.post("/v1/ruleset:reload", headers=auth("admin"))
    assert response.status_code == 200, response.json
    doc = response.json
    assert doc["reloaded"] is True and doc["previous_digest"] == before
    assert doc["ruleset"]["digest"] != before and doc["scope"] == "worker"
    scored = client.post("/v1/assessments", json=proposal("RU"), headers=auth("submitter"))
    assert scored.json["score"] == 20.0 and scored.json["ruleset"]["digest"] != before
    metrics = client.get("/metrics").data.decode()
    assert 'riskrules_ruleset_reloads_total{result="success"} 1.0' in metrics
    assert f'digest="{doc["ruleset"]["digest"]}"' in metrics


def test_a_broken_pack_is_refused_and_the_old_one_keeps_serving(make_app: Any,
                                                                 pack_dir: Path) -> None:
    app = make_app(RULES_DIR=str(pack_dir))
    client = app.test_client()
    before = client.get("/v1/ruleset", headers=auth("admin")).json["digest"]
    (pack_dir / "rules.yaml").write_text(
        "rules:\n  - id: BAD\n    title: x\n    factor: nowhere\n    kind: risk\n"
        "    points: 1\n    when: {path: colour, eq: red}\n    rationale: r\n    source: s\n")
    response = client.post("/v1/ruleset:reload", headers=auth("admin"))
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    doc = response.json
    assert doc["errors"] and all("rules.yaml" in e["path"] for e in doc["errors"])
    assert {d["severity"] for d in doc["diagnostics"]} >= {"error"}
    assert client.get("/v1/ruleset", headers=auth("admin")).json["digest"] == before
    scored = client.post("/v1/assessments", json=proposal("RU"), headers=auth("submitter"))
    assert scored.status_code == 201 and scored.json["ruleset"]["digest"] == before
    metrics = client.get("/metrics").data.decode()
    assert 'riskrules_ruleset_reloads_total{result="failure"} 1.0' in metrics


def test_reload_under_gunicorn_signals_the_master(make_app: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    app = make_app(MASTER_PID=999_999)
    response = app.test_client().post("/v1/ruleset:reload", headers=auth("admin"))
    assert response.json["scope"] == "all-workers"
    assert sent == [(999_999, signal.SIGHUP)]


def test_without_a_pack_the_api_answers_503(make_app: Any, tmp_path: Path) -> None:
    app = make_app(RULES_DIR=str(tmp_path / "nothing"))
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "no rule pack loaded" in ready.json["detail"]
    created = client.post("/v1/assessments", json=proposal(), headers=auth("submitter"))
    assert created.status_code == 503 and created.content_type == "application/problem+json"
    assert client.get("/v1/ruleset", headers=auth("admin")).status_code == 503
    assert app.extensions["riskrules"].store.count() == 0


class FakePack:
    def __init__(self, name: str) -> None:
        self.name = name
        self.version = "1"
        self.digest = f"sha256:{name}"
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_the_old_pack_closes_after_its_last_lease() -> None:
    fakes = iter([FakePack("a"), FakePack("b"), FakePack("c")])
    holder: PackHolder[Any] = PackHolder(None, lambda _path: next(fakes))
    packs = PackService(holder, "unused", Metrics())
    assert not packs.loaded and packs.installed() is None
    with pytest.raises(NotReady), packs.lease():
        pass
    packs.start()
    assert packs.load_error is None
    with packs.lease() as lease:
        old = lease.pack
        packs.reload()  # swapped while an evaluation is running
        assert old.closed == 0
        with packs.lease() as inner:
            assert inner.pack.name == "b"
    assert old.closed == 1
    current = packs.installed()
    assert current is not None and current.pack.name == "b"
    packs.reload()  # nothing leased: closes at once
    assert current.pack.closed == 1
    packs.close()
    assert not packs.loaded
    with pytest.raises(NotReady), packs.lease():
        pass


def test_watcher_reloads_on_file_change(make_app: Any, pack_dir: Path) -> None:
    app = make_app(RULES_DIR=str(pack_dir), WATCH_RULES=True, WATCH_INTERVAL=0.05)
    client = app.test_client()
    before = client.get("/v1/ruleset", headers=auth("admin")).json["digest"]
    with (pack_dir / "rules.yaml").open("a") as handle:
        handle.write("# a comment changes the digest\n")
    deadline = time.monotonic() + 10
    digest = before
    while digest == before and time.monotonic() < deadline:
        time.sleep(0.05)
        digest = client.get("/v1/ruleset", headers=auth("admin")).json["digest"]
    assert digest != before
