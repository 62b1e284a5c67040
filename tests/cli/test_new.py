"""`riskrules new rule`: a skeleton with every required key and two cases, in the factor's
files, that passes `check --strict` and `test` as written; nothing is left half-written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from cli import new
from cli.main import main
from engine import load_pack
from engine.language import parser as language

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled pack and its examples, as the working directory."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _max_number(prefix: str) -> int:
    pack = load_pack("rules")
    try:
        return max(int(r.id.removeprefix(prefix)) for r in pack.rules if r.id.startswith(prefix))
    finally:
        pack.close()


@pytest.mark.parametrize(("kind", "factor", "prefix"), [
    ("risk", "national_security", "NS-"),
    ("mitigation", "sanctions_exposure", None),
    ("knockout", "sanctions_exposure", None),
])
def test_the_skeleton_passes_check_and_test_as_written(repo: Path, kind: str, factor: str,
                                                       prefix: str | None,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_text(encoding="utf-8") for p in (repo / "rules").rglob("*.yaml")}
    expected = f"{prefix}{_max_number(prefix) + 1:03d}" if prefix else None
    assert main(["new", "rule", "--factor", factor, "--kind", kind]) == 0
    out = capsys.readouterr().out
    rule_id = re.search(r"new rule (\S+) ", out)[1]  # type: ignore[index]
    if expected:
        assert rule_id == expected
    changed = sorted(p.relative_to(repo).as_posix() for p in (repo / "rules").rglob("*.yaml")
                     if before.get(p) != p.read_text(encoding="utf-8"))
    pack = load_pack("rules")
    try:
        rule = pack.rule(rule_id)
        assert rule is not None and rule.factor == factor and rule.kind.value == kind
        home = Path(rule.pos.file).name
        assert changed == [f"rules/{home}", f"rules/tests/{home}"]
        # the appended text keeps what was there: the old file is a prefix of the new one
        assert (repo / "rules" / home).read_text(encoding="utf-8").startswith(
            before[repo / "rules" / home])
        written = yaml.safe_load((repo / "rules" / home).read_text(encoding="utf-8"))
        skeleton = next(r for r in written["rules"] if r["id"] == rule_id)
        assert set(language.RULE_REQUIRED) | {"rationale", "source"} <= set(skeleton)
    finally:
        pack.close()
    assert main(["check", "--strict", "--allow-sample-lists"]) == 0  # the pack ships samples
    assert main(["test", "-k", rule_id]) == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out


def test_a_factor_without_rules_gets_its_own_files(repo: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pack_yaml = repo / "rules" / "pack.yaml"
    text = pack_yaml.read_text(encoding="utf-8")
    assert "factors:\n" in text
    pack_yaml.write_text(text.replace("factors:\n", "factors:\n  - {id: data_privacy, label: "
                                      "Data privacy, weight: 5}\n", 1), encoding="utf-8")
    assert main(["new", "rule", "--factor", "data_privacy"]) == 0
    assert "DP-001" in capsys.readouterr().out
    assert (repo / "rules" / "data_privacy.yaml").is_file()
    assert (repo / "rules" / "tests" / "data_privacy.yaml").is_file()
    assert main(["check", "--strict", "--allow-sample-lists"]) == 0  # the pack ships samples
    assert main(["test", "-k", "DP-001"]) == 0


@pytest.mark.parametrize(("argv", "needle"), [
    (["--factor", "nat_security"], "did you mean 'national_security'?"),
    (["--factor", "national_security", "--id", "NS-001"], "is taken"),
    (["--factor", "national_security", "--id", "not an id"], "must match"),
    (["--factor", "national_security", "--file", "../elsewhere.yaml"], "directly inside"),
])
def test_bad_requests_write_nothing(repo: Path, argv: list[str], needle: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    assert main(["new", "rule", *argv]) == 2
    assert needle in capsys.readouterr().err
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before


def test_a_skeleton_that_would_fail_is_rolled_back(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    real = new.case_skeletons
    monkeypatch.setattr(new, "case_skeletons", lambda rule_id, kind: real(rule_id, kind)
                        .replace(f"fired: [{rule_id}]", f"not_fired: [{rule_id}]", 1))
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    assert main(["new", "rule", "--factor", "national_security"]) == 1
    assert "did not pass, nothing written" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before


def test_a_rule_file_in_flow_style_is_left_alone(repo: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    other = repo / "rules" / "odd.yaml"
    other.write_text("rules: [{id: ODD-1, title: t, factor: national_security, kind: risk, "
                     "points: 1, when: {path: title, eq: x}}]\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    assert main(["new", "rule", "--factor", "national_security", "--file", "odd.yaml"]) == 2
    assert "add the skeleton by hand" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
