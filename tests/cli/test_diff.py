"""`riskrules diff`: formats, exit codes, git revisions as base, and 1 vs 2 workers.

Uses the fixture packs and corpus of tests/engine/fixtures/impact (see
tests/engine/tooling/test_impact.py for how the expected numbers follow from the packs).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cli.diff import Progress
from cli.main import main
from engine import load_pack

FIXTURES = Path(__file__).resolve().parents[1] / "engine" / "fixtures" / "impact"
BASE, HEAD, CORPUS = str(FIXTURES / "base"), str(FIXTURES / "head"), str(FIXTURES / "corpus.jsonl")
DAY = "2026-11-01"


def diff(*extra: str, base: str = BASE, head: str = HEAD, corpus: str = CORPUS) -> int:
    return main(["diff", f"--base={base}", "--head", head, corpus, "--as-of", DAY, *extra])


def json_report(capsys: pytest.CaptureFixture[str], *extra: str, **kw: str) -> tuple[int, Any]:
    status = diff("--format", "json", *extra, **kw)
    return status, json.loads(capsys.readouterr().out)


def test_text_report_and_timing(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff("--workers", "1") == 0
    out, err = capsys.readouterr()
    assert "20 proposal(s) as of 2026-11-01: 7 of 20 decision(s) changed" in out
    assert "  review                0         1        *3         0         4" in out
    assert "P17 (" in out and "approve → review, score 17.50 → 25.00; +M-003 (+40)" in out
    assert "score deltas: min -15.00, median +0.00, max +17.50" in out
    assert "riskrules diff: 20 proposals in " in err and "proposals/s, 1 worker(s))" in err


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    status, doc = json_report(capsys, "--workers", "1")
    assert status == 0
    counts = doc["decisions"]["counts"]
    assert [[counts[b][h] for h in doc["decisions"]["labels"]]
            for b in doc["decisions"]["labels"]] == [[9, 3, 0, 0], [0, 1, 3, 0],
                                                      [0, 1, 1, 0], [0, 0, 0, 2]]
    assert doc["bands"]["changed"] == 7
    assert doc["score_deltas"] == {"min": -15.0, "median": 0.0, "max": 17.5, "increased": 6,
                                   "decreased": 2, "unchanged": 12}
    assert [c["label"] for c in doc["changed"]] == ["P06", "P07", "P08", "P10", "P11", "P16",
                                                    "P17"]
    assert doc["changed"][0]["origin"] == f"{CORPUS}:6"
    assert doc["changed"][-1]["rules"] == [{"rule": "M-003", "title": "Barter settlement",
                                           "change": "head_only", "base_points": None,
                                           "head_points": 40}]
    assert [(r["rule"], r["status"]) for r in doc["rules"]] == [
        ("M-002", "changed"), ("M-003", "added"), ("S-003", "removed")]
    assert doc["errors"] == []
    assert doc["timing"]["workers"] == 1 and doc["timing"]["proposals_per_second"] > 0


def test_markdown_comment(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff("--format", "markdown", "--workers", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "<!-- riskrules-diff -->"
    assert lines[1].startswith("### ⚠️ riskrules diff: 7 of 20 decision(s) changed, 7 band(s)")
    assert "| base ↓ head → | approve | review | escalate | reject | total |" in lines
    assert "| **review** | 0 | 1 | **3** | 0 | 4 |" in lines
    assert "| total | 9 | 5 | 4 | 2 | 20 |" in lines
    assert f"| P16 | `{CORPUS}:16` | escalate → **review** | 52.50 → 37.50 | −S-003 (+20) |" \
        in lines
    assert "| `M-003` | Barter settlement | added | — → 2 | +2 |" in lines
    assert "- band medium: min 25 → 20" in lines


def test_markdown_limits_rows_and_escapes_cells(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "c.jsonl"
    rows = [json.loads(line) for line in Path(CORPUS).read_text().splitlines()]
    rows[5]["reference"] = "A|B"
    corpus.write_text("\n".join(json.dumps(r) for r in rows))
    assert diff("--format", "markdown", "--workers", "1", "--max-rows", "2",
                corpus=str(corpus)) == 0
    out = capsys.readouterr().out
    assert "| A\\|B |" in out
    assert "… and 5 more" in out
    assert "| P08 |" not in out


def test_fail_on_decision_change(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff("--workers", "1", "--fail-on-decision-change") == 1
    assert diff("--workers", "1", "--fail-on-decision-change", head=BASE) == 0
    out = capsys.readouterr().out
    assert "the two packs are identical" in out


def test_invalid_proposal_is_an_input_error_unless_skipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "c.jsonl"
    good = Path(CORPUS).read_text().splitlines()[5]
    corpus.write_text(good + "\n" + json.dumps({"reference": "BAD", "title": "x"}) + "\n")
    status, doc = json_report(capsys, "--workers", "1", corpus=str(corpus))
    assert status == 2
    assert doc["proposals"]["invalid"] == 1 and doc["proposals"]["assessed"] == 1
    assert doc["errors"][0]["origin"] == f"{corpus}:2"
    assert any("initiator" in m for m in doc["errors"][0]["messages"])
    status, doc = json_report(capsys, "--workers", "1", "--skip-invalid", corpus=str(corpus))
    assert status == 0 and doc["proposals"]["invalid"] == 1
    capsys.readouterr()
    assert diff("--workers", "1", "--skip-invalid", "--fail-on-decision-change",
                corpus=str(corpus)) == 1
    assert f"{corpus}:2: initiator" in capsys.readouterr().err


def test_unreadable_or_empty_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"title": "a"}\n{oops\n')
    assert diff("--workers", "1", corpus=str(broken)) == 2
    assert "broken.jsonl:2: invalid JSON" in capsys.readouterr().err
    assert diff("--workers", "1", corpus=str(tmp_path / "missing.jsonl")) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert diff("--workers", "1", corpus=str(empty)) == 2
    assert "no proposals in" in capsys.readouterr().err


def test_pack_that_does_not_load_prints_its_diagnostics(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = tmp_path / "head"
    shutil.copytree(HEAD, head)
    (head / "rules.yaml").write_text((head / "rules.yaml").read_text()
                                     .replace("factor: money", "factor: nope", 1))
    assert diff("--workers", "1", head=str(head)) == 2
    err = capsys.readouterr().err
    assert f"{head}/rules.yaml:" in err
    assert f"the head pack ({head}) does not load (1 error(s))" in err


def test_base_neither_directory_nor_revision(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert diff(base=str(tmp_path / "nowhere")) == 2
    assert "not a directory" in capsys.readouterr().err


def test_workers_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        diff("--workers", "0")
    assert exc.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_one_and_two_workers_give_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    # Small chunks so that both workers get several and results arrive out of order.
    _, one = json_report(capsys, "--workers", "1", "--chunk-size", "3")
    status, two = json_report(capsys, "--workers", "2", "--chunk-size", "3")
    assert status == 0
    assert two["timing"]["workers"] == 2
    del one["timing"], two["timing"]
    assert one == two
    assert two["proposals"]["decision_changed"] == 7


# ---------------------------------------------------------------------------------------------
# --base as a git revision


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                             "-c", "commit.gpgsign=false", *args], cwd=repo, check=True,
                            capture_output=True, text=True)
    return result.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose rules/ is the base fixture pack at HEAD~1 and, at HEAD, the
    same pack with S-001 at 80 points instead of 60."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "repo"
    shutil.copytree(BASE, root / "rules")
    git(root, "init", "-q")
    git(root, "add", "rules")
    git(root, "commit", "-q", "-m", "base pack")
    rules = root / "rules" / "rules.yaml"
    rules.write_text(rules.read_text().replace("points: 60", "points: 80", 1))
    git(root, "commit", "-q", "-am", "S-001 weighs more")
    return root


def test_base_from_a_git_revision(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = repo / "rules"
    before = (head / "rules.yaml").read_text()
    status, doc = json_report(capsys, "--workers", "1", base="HEAD~1", head=str(head))
    assert status == 0
    sha = git(repo, "rev-parse", "HEAD~1").strip()
    assert doc["base"]["source"] == f"HEAD~1 ({sha[:12]})"
    base_pack = load_pack(BASE)
    try:
        assert doc["base"]["digest"] == base_pack.digest  # exactly the committed files
    finally:
        base_pack.close()
    assert [c["label"] for c in doc["changed"]] == ["P06", "P07", "P08"]
    assert doc["decisions"]["counts"]["review"]["escalate"] == 3
    assert [c["description"] for c in doc["pack_changes"]] == ["rule S-001: points 60 → 80"]
    # the working tree is untouched
    assert (head / "rules.yaml").read_text() == before
    assert git(repo, "status", "--porcelain") == ""


def test_base_revision_errors(repo: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    head = str(repo / "rules")
    assert diff("--workers", "1", base="no-such-branch", head=head) == 2
    assert "is not a git revision" in capsys.readouterr().err
    assert diff("--workers", "1", base="--output=x", head=head) == 2
    assert "is not a git revision" in capsys.readouterr().err
    # the pack did not exist yet at the first commit
    (repo / "other").mkdir()
    (repo / "other" / "pack.yaml").write_text("name: x\n")
    git(repo, "add", "other")
    git(repo, "commit", "-q", "-m", "other")
    assert diff("--workers", "1", base="HEAD~1", head=str(repo / "other")) == 2
    assert "cannot read other at" in capsys.readouterr().err
    outside = tmp_path / "outside"
    shutil.copytree(HEAD, outside)
    assert diff("--workers", "1", base="HEAD", head=str(outside)) == 2
    assert "not inside a git repository" in capsys.readouterr().err


def test_base_revision_pack_errors_name_the_revision(repo: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rules = repo / "rules" / "rules.yaml"
    good = rules.read_text()
    rules.write_text(good.replace("factor: money", "factor: nope", 1))
    git(repo, "commit", "-q", "-am", "broken")
    rules.write_text(good)
    assert diff("--workers", "1", base="HEAD", head=str(repo / "rules")) == 2
    err = capsys.readouterr().err
    assert "HEAD:rules/rules.yaml:" in err
    assert "the base pack (HEAD (" in err


# ---------------------------------------------------------------------------------------------
# progress


def test_progress_every_thousand_or_two_seconds() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(out, clock=lambda: now[0])
    progress(500)
    now[0] = 1.0
    progress(1000)
    now[0] = 1.5
    progress(1500)
    now[0] = 3.6
    progress(1600)
    assert out.getvalue().splitlines() == ["riskrules diff: 1000 proposals scored, 1000/s",
                                           "riskrules diff: 1600 proposals scored, 444/s"]


def test_every_format_lists_the_proposals_whose_score_changed(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The headline counted 8 score changes while JSON listed only the 7 decision changes (P09,
    P19 and P20 changed score, not decision; P10 and P11 changed decision, not score)."""
    expected = {"P06": 15.0, "P07": 15.0, "P08": 15.0, "P09": 15.0, "P16": -15.0, "P17": 7.5,
                "P19": 17.5, "P20": -15.0}
    _, doc = json_report(capsys, "--workers", "1")
    assert doc["proposals"]["score_changed"] == len(expected)
    assert {c["label"]: c["score_delta"] for c in doc["score_changes"]} == expected
    p09 = next(c for c in doc["score_changes"] if c["label"] == "P09")
    assert (p09["base"]["score"], p09["head"]["score"]) == (55.0, 70.0)
    assert p09["base"]["decision"] == p09["head"]["decision"] == "escalate"
    assert diff("--workers", "1") == 0
    text = capsys.readouterr().out
    assert "8 score(s) changed" in text and "score changes (8):" in text
    for label, delta in expected.items():
        shown = re.escape(f"{delta:+.2f}")
        assert re.search(rf"^  {label} \(.*\): score [\d.]+ → [\d.]+ \({shown}\)", text,
                         re.M), label
    assert "score 55.00 → 70.00 (+15.00), escalate\n" in text
    assert diff("--format", "markdown", "--workers", "1") == 0
    markdown = capsys.readouterr().out
    assert "<details><summary>Score changes (8)</summary>" in markdown
    for label, delta in expected.items():
        shown = re.escape(f"{delta:+.2f}")
        assert re.search(rf"^\| {label} \| .* \| {shown} \| ", markdown, re.M), label
    # --max-rows limits text and markdown, never JSON
    assert diff("--workers", "1", "--max-rows", "2") == 0
    assert "  … and 6 more (--max-rows 0 or --format json for all)" in capsys.readouterr().out
