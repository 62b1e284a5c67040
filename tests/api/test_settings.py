"""The one settings table (api/settings.py): precedence, conversion errors, one reading of the
environment shared by the API, gunicorn and the command line, and the documented names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.config import Settings
from api.errors import ConfigError
from api.gunicornconf import settings as gunicorn_settings
from api.settings import DEFAULT_DATABASE_URL, TABLE, SettingError, setting
from cli.common import database_url, resolve_keys_file, rules_dir

ROOT = Path(__file__).resolve().parents[2]
# variables of the test suite and of the engine (which imports nothing from api), not settings
NOT_SETTINGS = {"RISKRULES_TEST_DATABASE_URL", "RISKRULES_DIFF_EXAMPLES",
                "RISKRULES_SCREENSHOTS", "RISKRULES_INDEX_CACHE_DIR"}


def test_config_then_environment_then_default() -> None:
    env = {"RISKRULES_MAX_BATCH": "7"}
    assert setting("MAX_BATCH", {"MAX_BATCH": 3}, env) == 3
    assert setting("MAX_BATCH", {}, env) == 7
    assert setting("MAX_BATCH", {}, {"RISKRULES_MAX_BATCH": ""}) == 1000  # empty is unset
    assert setting("MAX_BATCH", None, {}) == 1000


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(SettingError, match=r"^RISKRULES_MAX_BATCH: '0' is below the minimum 1$"):
        setting("MAX_BATCH", None, {"RISKRULES_MAX_BATCH": "0"})
    with pytest.raises(SettingError, match=r"^RISKRULES_WATCH_RULES: not a boolean: 'maybe'$"):
        setting("WATCH_RULES", None, {"RISKRULES_WATCH_RULES": "maybe"})
    with pytest.raises(ConfigError, match=r"^RISKRULES_MAX_DEPTH: not a number: 'deep'$"):
        Settings.resolve("MAX_DEPTH", None, {"RISKRULES_MAX_DEPTH": "deep"})


def test_the_api_gunicorn_and_the_cli_read_the_same_values(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no ./var/keys.yaml here
    for name in ("DATABASE_URL", "KEYS_FILE", "RULES_DIR", "BIND", "WORKERS", "LOG_LEVEL"):
        monkeypatch.delenv(f"RISKRULES_{name}", raising=False)
    assert database_url(None) == DEFAULT_DATABASE_URL == Settings.resolve("DATABASE_URL")
    assert resolve_keys_file(None) is None and rules_dir() == "rules"
    monkeypatch.setenv("RISKRULES_DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    monkeypatch.setenv("RISKRULES_KEYS_FILE", "k.yaml")
    monkeypatch.setenv("RISKRULES_RULES_DIR", "pack")
    monkeypatch.setenv("RISKRULES_BIND", "127.0.0.1:9")
    monkeypatch.setenv("RISKRULES_WORKERS", "3")
    monkeypatch.setenv("RISKRULES_LOG_LEVEL", "WARNING")
    assert database_url(None) == "sqlite:///elsewhere.sqlite3" == Settings.resolve("DATABASE_URL")
    assert database_url("sqlite:///given.sqlite3") == "sqlite:///given.sqlite3"
    assert resolve_keys_file(None) == "k.yaml" == Settings.resolve("KEYS_FILE")
    assert rules_dir() == "pack" == Settings.resolve("RULES_DIR")
    gunicorn = gunicorn_settings()
    assert (gunicorn["bind"], gunicorn["workers"], gunicorn["loglevel"]) == (
        ["127.0.0.1:9"], 3, "warning")


def test_every_documented_variable_is_in_the_table() -> None:
    declared = {s.env for s in TABLE.values() if s.env}
    documented: set[str] = set()
    for file in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "deploy").rglob("*")]:
        if file.is_file():
            documented |= set(re.findall(r"RISKRULES_[A-Z_]+[A-Z]", file.read_text(
                encoding="utf-8", errors="replace")))
    assert documented - NOT_SETTINGS <= declared


def test_only_the_table_reads_riskrules_variables_from_the_environment() -> None:
    readers = []
    for folder in ("api", "cli"):
        for file in (ROOT / folder).rglob("*.py"):
            text = file.read_text(encoding="utf-8")
            if re.search(r"(environ(\.get)?\(|getenv\(|environ\[)[\"']RISKRULES_", text):
                readers.append(file.relative_to(ROOT).as_posix())
    assert readers == []
