"""`riskrules export`: JSON Lines of stored assessments that `diff`/`score` read as proposals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api import create_app
from api.migrate import upgrade
from cli.common import read_proposals
from cli.main import main
from tests.bundled import validate as validate_proposal

PACK = str(Path(__file__).resolve().parents[1] / "api" / "fixtures" / "pack")


def _proposal(country: str, reference: str) -> dict[str, Any]:
    return {"reference": reference, "title": "t",
            "initiator": {"name": "A", "country": "US", "type": "private_company"},
            "counterparties": [{"name": "B", "country": country, "type": "private_company"}],
            "deal": {"type": "other"}, "sectors": ["space"]}


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A database holding three assessments made through the API (US approve, RU, KP)."""
    db = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(db)
    app = create_app({"RULES_DIR": PACK, "DATABASE_URL": db, "INSECURE_NO_AUTH": True,
                      "CONFIGURE_LOGGING": False})
    client = app.test_client()
    for country, ref in [("US", "A"), ("RU", "B"), ("KP", "C")]:
        response = client.post("/v1/assessments", json=_proposal(country, ref))
        assert response.status_code == 201
        if ref == "B":  # a human disposition, superseded by a second one
            for decision in ("request_information", "escalate"):
                assert client.post(f"/v1/assessments/{response.json['id']}/dispositions", json={
                    "decision": decision, "reason": "ownership unclear"}).status_code == 201
    svc = app.extensions["riskrules"]
    svc.holder.close()
    svc.store.close()
    return db


def test_export_writes_records_the_corpus_reader_accepts(
        url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export.jsonl"
    assert main(["export", "--database-url", url, "--output", str(out)]) == 0
    assert "exported 3 assessment(s)" in capsys.readouterr().err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["proposal"]["reference"] for line in lines] == ["A", "B", "C"]
    assert all(set(line) == {"id", "created_at", "proposal", "assessment", "dispositions"}
               for line in lines)
    assert [d["decision"] for d in lines[1]["dispositions"]] == ["request_information",
                                                                  "escalate"]
    assert lines[1]["dispositions"][1]["supersedes"] == lines[1]["dispositions"][0]["id"]
    assert lines[0]["dispositions"] == lines[2]["dispositions"] == []
    assert lines[2]["assessment"]["decision"] == "reject"
    assert lines[0]["assessment"]["id"] == lines[0]["id"]
    proposals = [p.data for p in read_proposals([str(out)])]
    assert proposals == [line["proposal"] for line in lines]
    for proposal in proposals:
        validate_proposal(proposal)


def test_export_filters_to_stdout(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--database-url", url, "--decision", "reject"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["proposal"]["reference"] == "C"
    assert main(["export", "--database-url", url, "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit):
        main(["export", "--database-url", url, "--since", "yesterday"])


def test_export_of_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--database-url", f"sqlite:///{tmp_path / 'none.sqlite3'}"]) == 2
    assert "assessment store unavailable" in capsys.readouterr().err
