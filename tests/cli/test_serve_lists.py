"""`riskrules serve` refuses to start on watchlists unfit to screen with: an empty list always,
a sample or stale list under production rules (`--production`, or `screening.production:
true` in pack.yaml). The check runs before migrations and before gunicorn forks anything."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from api.auth import ApiKey, append_key, hash_key
from cli.main import main
from engine.pack import screening_refusals
from engine.screening.watchlists import Watchlist, WatchlistEntry, write_watchlist

FIXTURE_PACK = Path(__file__).resolve().parents[1] / "api" / "fixtures" / "pack"
NO_DATABASE = "postgresql://nobody@127.0.0.1:1/none"  # reached only when the check passed


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RISKRULES_KEYS_FILE", "RISKRULES_API_KEYS", "RISKRULES_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RISKRULES_INDEX_CACHE_DIR", "off")
    monkeypatch.chdir(tmp_path)


def pack(tmp_path: Path, *, sample: bool = False, as_of: dt.date | None = None,
         entries: int = 1, settings: str = "") -> str:
    root = tmp_path / "pack"
    shutil.copytree(FIXTURE_PACK, root)
    entry = (WatchlistEntry("1", "Listed Trading LLC", type="entity"),)
    write_watchlist(Watchlist("listed", entry * entries, as_of=as_of or dt.date.today(),
                              sample=sample), root / "listed.yaml")
    with (root / "pack.yaml").open("a", encoding="utf-8") as out:
        out.write("screening:\n  threshold: 88\n  watchlists:\n    - listed.yaml\n" + settings)
    return str(root)


def serve(rules: str, tmp_path: Path, *extra: str) -> int:
    keys = tmp_path / "keys.yaml"
    if not keys.exists():
        append_key(str(keys), ApiKey("a", hash_key("k"), frozenset({"admin"})))
    return main(["--rules", rules, "serve", "--keys-file", str(keys), "--database-url",
                 NO_DATABASE, *extra])


def test_a_sample_list_refuses_to_start_in_production(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = pack(tmp_path, sample=True)
    assert serve(rules, tmp_path, "--production") == 2
    err = capsys.readouterr().err
    assert "not fit to screen with: refusing to start" in err
    assert "E042 watchlist listed (listed.yaml) is sample data" in err
    assert "migration failed" not in err  # refused before the database was touched
    # without production rules a sample list is a warning: the server goes on (to the database)
    assert serve(rules, tmp_path) == 2
    assert "migration failed" in capsys.readouterr().err


def test_the_pack_setting_refuses_as_the_flag_does(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rules = pack(tmp_path, sample=True, settings="  production: true\n")
    assert serve(rules, tmp_path) == 2
    assert "E042" in capsys.readouterr().err


def test_a_stale_list_refuses_to_start_in_production(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = dt.date.today() - dt.timedelta(days=30)
    rules = pack(tmp_path, as_of=old, settings="  max_age_days: 7\n")
    assert serve(rules, tmp_path, "--production") == 2
    err = capsys.readouterr().err
    assert "E043 watchlist listed (listed.yaml) is stale" in err and "30 days old" in err
    assert screening_refusals(rules) == []  # stale is a warning outside production


def test_a_current_list_passes_and_production_needs_lists(tmp_path: Path) -> None:
    assert screening_refusals(pack(tmp_path), production=True) == []
    assert screening_refusals(str(FIXTURE_PACK)) == []  # a pack that screens nothing
    refusals = screening_refusals(str(FIXTURE_PACK), production=True)
    assert len(refusals) == 1 and "production screening needs watchlists" in refusals[0]
