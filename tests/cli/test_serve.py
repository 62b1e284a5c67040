"""`riskrules serve` refuses to start without keys, rules or database, before forking anything.

Starting a real server is covered by tests/api/test_server.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.auth import ApiKey, append_key, hash_key
from cli.common import resolve_keys_file
from cli.main import main

PACK = str(Path(__file__).resolve().parents[1] / "api" / "fixtures" / "pack")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RISKRULES_KEYS_FILE", "RISKRULES_API_KEYS", "RISKRULES_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_no_keys_refuses_to_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules", PACK, "serve"]) == 2
    err = capsys.readouterr().err
    assert "no API keys configured: refusing to start" in err
    assert "--insecure-no-auth" in err
    assert not Path("var").exists()  # nothing migrated, nothing started


def test_bad_keys_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "keys.yaml"
    bad.write_text("keys: [{id: a, hash: plain, roles: [admin]}]\n")
    assert main(["--rules", PACK, "serve", "--keys-file", str(bad)]) == 2
    assert "hash must be" in capsys.readouterr().err


def _keys(tmp_path: Path) -> str:
    path = tmp_path / "keys.yaml"
    append_key(str(path), ApiKey("a", hash_key("k"), frozenset({"admin"})))
    return str(path)


def test_missing_rules_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--rules", str(tmp_path / "none"), "serve", "--keys-file", _keys(tmp_path)])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_unreachable_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--rules", PACK, "serve", "--keys-file", _keys(tmp_path),
                 "--database-url", "postgresql://nobody@127.0.0.1:1/none"])
    assert code == 2
    assert "migration failed" in capsys.readouterr().err


def test_keys_file_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_keys_file(None) is None
    Path("var").mkdir()
    Path("var/keys.yaml").write_text("keys: []\n")
    assert resolve_keys_file(None) == "var/keys.yaml"
    monkeypatch.setenv("RISKRULES_KEYS_FILE", "/etc/rr/keys.yaml")
    assert resolve_keys_file(None) == "/etc/rr/keys.yaml"
    assert resolve_keys_file("given.yaml") == "given.yaml"
