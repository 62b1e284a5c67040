"""W050 in `riskrules check`: the scoring files changed since a git revision, the version did not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
MINIPACK = ROOT / "tests" / "engine" / "fixtures" / "minipack"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the mini pack under packs/mini, committed once."""
    shutil.copytree(MINIPACK, tmp_path / "packs" / "mini")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "pack 1.0")
    return tmp_path


def check(pack: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["--rules", str(pack), "check", *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def edit_a_rule(pack: Path) -> None:
    with (pack / "rules.yaml").open("a", encoding="utf-8") as f:
        f.write("# a comment is an edit too: the digest changes\n")


def test_an_edit_without_a_version_bump_warns_at_the_version(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = repo / "packs" / "mini"
    assert "W050" not in check(pack, capsys)[1]  # committed and clean
    edit_a_rule(pack)
    code, out = check(pack, capsys)
    assert code == 0  # a warning: `check --strict` fails on it (below)
    [line] = [x for x in out.splitlines() if "W050" in x]
    assert line.startswith(f"{pack / 'pack.yaml'}:2:10: W050 ")
    assert "since HEAD" in line and "'1.0'" in line


def test_a_bumped_version_or_an_unscored_file_does_not_warn(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = repo / "packs" / "mini"
    (pack / "NOTES.md").write_text("not a scoring file\n", encoding="utf-8")
    code, out = check(pack, capsys)
    assert code == 0 and "W050" not in out
    edit_a_rule(pack)
    text = (pack / "pack.yaml").read_text(encoding="utf-8")
    (pack / "pack.yaml").write_text(text.replace('version: "1.0"', 'version: "1.1"'),
                                    encoding="utf-8")
    code, out = check(pack, capsys)
    assert code == 0 and "W050" not in out


def test_a_ci_pipeline_compares_with_the_target_branch(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Committed changes are invisible against HEAD; `--base` names the branch merged into."""
    pack = repo / "packs" / "mini"
    git(repo, "branch", "target")
    edit_a_rule(pack)
    git(repo, "commit", "-qam", "rule edit, same version")
    code, out = check(pack, capsys)
    assert code == 0 and "W050" not in out
    code, out = check(pack, capsys, "--strict", "--base", "target")
    assert code == 1 and "W050" in out and "since target" in out


def test_no_git_no_base_or_an_unknown_base(tmp_path: Path, repo: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(MINIPACK, outside)
    code, out = check(outside, capsys)
    assert code == 0 and "W050" not in out
    code, out = check(repo / "packs" / "mini", capsys, "--base", "no-such-branch")
    assert code == 2 and "--base no-such-branch: no-such-branch is not a git revision" in out


def test_a_pack_new_since_the_base_does_not_warn(repo: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(MINIPACK, repo / "packs" / "second")
    code, out = check(repo / "packs" / "second", capsys)
    assert code == 0 and "W050" not in out
