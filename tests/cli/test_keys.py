"""`riskrules keys create` prints a key once and stores only its hash; `keys list` shows roles."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.auth import KeyRing, load_keys
from cli.main import main


def test_create_prints_the_key_once_and_appends_its_hash(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.yaml"
    assert main(["keys", "create", "--role", "submitter", "--role", "auditor", "--id", "ci",
                 "--keys-file", str(path)]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("rr_") and "shown only this once" in out.err
    assert key not in path.read_text()
    assert main(["keys", "create", "--role", "admin", "--keys-file", str(path),
                 "--hash", "scrypt"]) == 0
    second = capsys.readouterr().out.strip()
    keys = load_keys(str(path))
    assert keys[0].id == "ci" and len(keys) == 2
    ring = KeyRing(keys)
    first = ring.authenticate(key)
    assert first is not None and first.roles == {"submitter", "auditor"}
    other = ring.authenticate(second)
    assert other is not None and other.roles == {"admin"}
    assert main(["keys", "list", "--keys-file", str(path)]) == 0
    listing = capsys.readouterr().out
    assert "ci\tauditor,submitter\tsha256" in listing and "scrypt" in listing
    assert key not in listing


def test_duplicate_id_and_missing_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.yaml"
    assert main(["keys", "create", "--role", "admin", "--id", "x", "--keys-file", str(path)]) == 0
    capsys.readouterr()
    assert main(["keys", "create", "--role", "admin", "--id", "x", "--keys-file",
                 str(path)]) == 2
    captured = capsys.readouterr()
    assert "already exists" in captured.err and captured.out == ""
    with pytest.raises(SystemExit) as stop:
        main(["keys", "create", "--keys-file", str(path)])
    assert stop.value.code == 2
