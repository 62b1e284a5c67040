"""`riskrules score` and `riskrules check`: output formats and exit codes 0/1/2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
MINIPACK = ROOT / "tests" / "engine" / "fixtures" / "minipack"
PROPOSAL = {
    "reference": "CLI-1",
    "title": "Joint launch programme",
    "initiator": {"name": "Orbital Dynamics Inc.", "country": "US", "type": "private_company"},
    "counterparties": [{"name": "Roscosmos", "country": "RU", "type": "state_agency"}],
    "deal": {"type": "joint_venture"},
    "sectors": ["space"],
    "payments": {"rails": ["crypto"], "usd_share": 0.1},
}


@pytest.fixture
def proposal_file(tmp_path: Path) -> Path:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PROPOSAL), encoding="utf-8")
    return path


def test_score_json_prints_one_assessment_per_line(proposal_file: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    lines = tmp_path / "many.jsonl"
    lines.write_text("\n".join(json.dumps({**PROPOSAL, "reference": f"L{i}"}) for i in range(3)))
    code = main(["--rules", str(MINIPACK), "score", "--format", "json", "--as-of", "2026-06-01",
                 str(proposal_file), str(lines)])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [a["reference"] for a in out] == ["CLI-1", "L0", "L1", "L2"]
    first = out[0]
    assert first["id"] is None and first["as_of"] == "2026-06-01"
    assert [a["source_file"] for a in out] == [str(proposal_file), f"{lines}:1", f"{lines}:2",
                                               f"{lines}:3"]
    assert first["ruleset"]["name"] == "minipack" and first["ruleset"]["digest"].startswith("sha256:")
    fired = {h["rule"] for f in first["factors"] for h in f["rules"]}
    assert fired == {"S-001", "M-001", "M-002"}


def test_score_text_is_readable(proposal_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules", str(MINIPACK), "score", str(proposal_file)]) == 0
    out = capsys.readouterr().out
    assert "decision" in out and "S-001" in out and "counterparties[0].country = 'RU'" in out


def test_score_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(PROPOSAL)))
    assert main(["--rules", str(MINIPACK), "score", "--format", "json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["reference"] == "CLI-1"


@pytest.mark.parametrize(("body", "needle"), [
    ('{"title": 1}', "title"),
    ('{"title": "x", "title": "y"}', "duplicate key"),
    ('{"a": NaN}', "NaN"),
    ("not json at all", "invalid JSON"),
])
def test_score_refuses_bad_input_with_exit_2(tmp_path: Path, body: str, needle: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(body, encoding="utf-8")
    assert main(["--rules", str(MINIPACK), "score", str(bad)]) == 2
    assert needle in capsys.readouterr().err


def test_score_with_a_broken_pack_exits_2(tmp_path: Path, proposal_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    (pack / "rules.yaml").write_text("rules:\n  - {id: X}\n", encoding="utf-8")
    assert main(["--rules", str(pack), "score", str(proposal_file)]) == 2
    assert "rules.yaml:2:5: E003" in capsys.readouterr().err


def test_check_ok_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules", str(MINIPACK), "check"]) == 0
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    text = (pack / "rules.yaml").read_text(encoding="utf-8").replace("    rationale: r\n", "", 1)
    (pack / "rules.yaml").write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["--rules", str(pack), "check"]) == 0
    assert "W001 rule S-001 has no rationale" in capsys.readouterr().out
    assert main(["--rules", str(pack), "check", "--strict"]) == 1


def test_check_reports_every_error_with_positions(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    (pack / "rules.yaml").write_text(
        "rules:\n"
        "  - {id: A, title: t, factor: nope, kind: risk, points: 1, when: {path: title, eq: x}}\n"
        "  - {id: B, title: t, factor: security, kind: risk, points: 1, when: {path: titel, eq: x}}\n",
        encoding="utf-8")
    assert main(["--rules", str(pack), "check", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert not doc["ok"] and doc["pack"] is None
    assert [(e["line"], e["code"]) for e in doc["errors"]] == [(2, "E011"), (3, "E013")]
    assert main(["--rules", str(pack), "check"]) == 1
    out = [line for line in capsys.readouterr().out.splitlines() if " E0" in line]
    assert out == [f"{pack / 'rules.yaml'}:2:31: E011 unknown factor 'nope' (the factors of pack.yaml: security, money)",
                   f"{pack / 'rules.yaml'}:3:77: E013 unknown path 'titel' (did you mean 'title'?); "
                   "the fields of the proposal are reference, title, summary, initiator, "
                   "submitter_nexus, counterparties, end_users, consignees, intermediaries, "
                   "deal, sectors, technologies, licences, services, technology_transfer, "
                   "data_sharing, payments, public_profile, mitigations"]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["score", "--format", "yaml"])
    assert info.value.code == 2
    assert main([]) == 2


def test_score_text_shows_the_clamp_and_the_screening_behind_a_knockout(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The bundled pack: a factor whose rules add up past 100 says so, and a knockout read
    from a bank's screening names the listed entry it matched."""
    clamped = ROOT / "examples" / "bond-advisory-russian-ministry-of-finance.json"
    lookalike = ROOT / "examples" / "evasion-correspondent-vtb-lookalike.json"
    assert main(["--rules", str(ROOT / "rules"), "score", "--as-of", "2026-11-27",
                 str(clamped), str(lookalike)]) == 0
    out = capsys.readouterr().out
    assert "(raw points 195, capped to 0..100)" in out
    assert ("screening of payments.legs[0].correspondents[0]: match, "
            "'VTB BANK PUBLIC JOINT STOCK COMPANY' (sdn_sample SAMPLE-002, score 100)") in out
