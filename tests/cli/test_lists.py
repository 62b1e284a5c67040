"""`riskrules lists import`: argument handling, output location, exit status, messages."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli import lists
from engine.screening.watchlists import load_watchlist

FIXTURES = Path(__file__).resolve().parents[1] / "engine" / "fixtures" / "watchlists"
SDN, ALT, ADD = (str(FIXTURES / f) for f in ("sdn.csv", "alt.csv", "add.csv"))
TARGETS = str(FIXTURES / "targets.simple.csv")


def parser(global_rules: bool = False) -> argparse.ArgumentParser:
    """A parser like the console script's: `lists` registered on its sub-commands."""
    root = argparse.ArgumentParser(prog="riskrules")
    if global_rules:
        root.add_argument("--rules", default="rules")
    lists.register(root.add_subparsers(dest="command"))
    return root


def run(*argv: str, global_rules: bool = False) -> int:
    args = parser(global_rules).parse_args(list(argv))
    return int(args.func(args))


def test_ofac_import_writes_the_pack_watchlist(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    status = run("lists", "import", "--format", "ofac-sdn", SDN, "--alt", ALT, "--add", ADD,
                 "--rules", str(tmp_path), "--as-of", "2026-11-20")
    assert status == 0
    written = load_watchlist(tmp_path / "watchlists" / "ofac_sdn.yaml")
    assert (written.name, len(written.entries), str(written.as_of)) == \
        ("ofac_sdn", 43, "2026-11-20")
    assert "ПАО Сбербанк" in written.entries[0].aliases
    out = capsys.readouterr().out
    assert "wrote 43 entries to" in out and "ofac_sdn.yaml" in out


def test_opensanctions_import_with_name_and_output(tmp_path: Path) -> None:
    output = tmp_path / "elsewhere" / "os.yaml"
    assert run("lists", "import", "--format", "opensanctions", TARGETS, "--name", "os_licensed",
               "--output", str(output)) == 0
    written = load_watchlist(output)
    assert written.name == "os_licensed"
    assert [e.id for e in written.entries] == ["tst-0001", "tst-0002", "tst-0003", "tst-0004"]


def test_rules_directory_from_the_global_option_or_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("--rules", str(tmp_path / "a"), "lists", "import", "--format", "ofac-sdn", SDN,
               global_rules=True) == 0
    assert (tmp_path / "a" / "watchlists" / "ofac_sdn.yaml").is_file()
    monkeypatch.setenv("RISKRULES_RULES_DIR", str(tmp_path / "b"))
    assert run("lists", "import", "--format", "ofac-sdn", SDN) == 0
    assert (tmp_path / "b" / "watchlists" / "ofac_sdn.yaml").is_file()


def test_malformed_file_exits_2_with_file_and_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "sdn.csv"
    bad.write_text('1,"A",-0- ,"X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \nx,"B"\n',
                   encoding="utf-8")
    assert run("lists", "import", "--format", "ofac-sdn", str(bad), "--rules",
               str(tmp_path)) == 2
    assert f"{bad}:2: expected 12 columns" in capsys.readouterr().err
    assert not (tmp_path / "watchlists").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--format", "opensanctions", TARGETS, "--alt", ALT], "--alt and --add belong to"),
    (["--format", "ofac-sdn", SDN, "--name", "../escape"], "--name '../escape' must match"),
    (["--format", "ofac-sdn", SDN, "--as-of", "yesterday"], "is not a date"),
    (["--format", "ofac-sdn", "/nonexistent/sdn.csv"], "cannot read file"),
])
def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              extra: list[str], message: str) -> None:
    assert run("lists", "import", *extra, "--rules", str(tmp_path)) == 2
    assert message in capsys.readouterr().err


def test_empty_list_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "targets.simple.csv"
    empty.write_text("id,schema,name\n", encoding="utf-8")
    assert run("lists", "import", "--format", "opensanctions", str(empty),
               "--rules", str(tmp_path)) == 2
    assert "no entries found" in capsys.readouterr().err


def test_lists_without_a_subcommand_prints_help_and_exits_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run("lists") == 2
    assert "import" in capsys.readouterr().err


def test_format_is_required() -> None:
    with pytest.raises(SystemExit) as exc:
        parser().parse_args(["lists", "import", SDN])
    assert exc.value.code == 2


@pytest.mark.parametrize(("fmt", "file", "default_name", "entries"), [
    ("eu-fsf-csv", "eu_fsf.csv", "eu_fsf", 2),
    ("uk-sanctions-list", "UK-Sanctions-List.csv", "uk_sanctions_list", 3),
])
def test_eu_and_uk_csv_import_and_a_failed_import_keeps_the_old_list(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, file: str,
        default_name: str, entries: int) -> None:
    assert run("lists", "import", "--format", fmt, str(FIXTURES / file),
               "--rules", str(tmp_path)) == 0
    target = tmp_path / "watchlists" / f"{default_name}.yaml"
    assert len(load_watchlist(target).entries) == entries
    before = target.read_bytes()
    lines = (FIXTURES / file).read_text(encoding="utf-8-sig").splitlines()
    truncated = tmp_path / file
    truncated.write_text("\n".join([*lines[:-1], lines[-1][:50]]) + "\n", encoding="utf-8")
    assert run("lists", "import", "--format", fmt, str(truncated), "--rules",
               str(tmp_path)) == 2
    assert f"{truncated}:{len(lines)}: expected" in capsys.readouterr().err
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
