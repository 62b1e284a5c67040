"""`riskrules db upgrade` and `db current` on a fresh SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.migrate import head
from cli.main import main


def test_upgrade_then_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert main(["db", "current", "--database-url", url]) == 1
    assert "database: empty" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert main(["db", "upgrade", "--database-url", url]) == 0  # idempotent
    capsys.readouterr()
    assert main(["db", "current", "--database-url", url]) == 0
    assert f"database: {head()}; code head: {head()}" in capsys.readouterr().out


def test_upgrade_of_an_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database-url", "postgresql://nobody@127.0.0.1:1/x"]) == 2
    assert "migration failed" in capsys.readouterr().err
