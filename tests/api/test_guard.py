"""SIGHUP guard and last good copies (api/guard.py): a broken pack or keys file never takes
the service down, neither at SIGHUP (the master refuses) nor when a worker starts later."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app
from api.auth import ApiKey, append_key, generate_key, hash_key, write_keys
from api.context import EXTENSION, Services
from api.guard import (
    STATE_ENV,
    Guard,
    install,
    last_good_keys,
    last_good_pack,
    probe_pack,
    read_status,
    refusal_warnings,
)
from tests.api.support import PACK_DIR


def _break(pack: Path) -> None:
    """The operator's typo of the issue: a rule kind that does not exist."""
    for path in sorted(pack.glob("*.yaml")):
        text = path.read_text()
        if "kind: risk" in text:
            path.write_text(text.replace("kind: risk", "kind: riskk", 1))
            return
    raise AssertionError("no rule file to break")


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Any]:
    pack = tmp_path / "pack"
    shutil.copytree(PACK_DIR, pack)
    keys_file = tmp_path / "keys.yaml"
    token = generate_key()
    append_key(str(keys_file), ApiKey("ops", hash_key(token), frozenset({"auditor"})))
    state = tmp_path / "state"
    state.mkdir()
    return {"pack": pack, "keys": keys_file, "token": token, "state": state}


def _guard(setup: dict[str, Any]) -> Guard:
    return Guard(state=setup["state"], rules_dir=str(setup["pack"]),
                 keys_file=str(setup["keys"]), api_keys=None, insecure_no_auth=False)


def test_probe_loads_in_a_child_and_reports_errors(setup: dict[str, Any]) -> None:
    good = probe_pack(setup["pack"])
    assert good["ok"] and good["digest"].startswith("sha256:") and good["rules"] > 0
    assert isinstance(good["lists"], dict)
    _break(setup["pack"])
    bad = probe_pack(setup["pack"])
    assert not bad["ok"] and "E018" in bad["error"] and "rules.yaml:" in bad["error"]


def test_sighup_with_a_broken_pack_is_refused_and_recorded(setup: dict[str, Any]) -> None:
    guard = _guard(setup)
    started = guard.start()
    assert started is not None
    environ = {STATE_ENV: str(setup["state"])}
    kept = last_good_pack(environ)
    assert kept is not None and (kept / "pack.yaml").is_file()
    kept_target = kept.resolve()
    _break(setup["pack"])
    assert guard.on_sighup() is False
    status = read_status(setup["state"])
    assert status["refused_total"] == 1 and status["applied_total"] == 0
    assert status["last"]["refused"][0]["what"] == "pack"
    # the diagnostic names the operator's file, not the checked copy
    assert str(setup["pack"]) in status["last"]["refused"][0]["detail"]
    assert str(setup["state"]) not in status["last"]["refused"][0]["detail"]
    assert last_good_pack(environ) is not None and last_good_pack(environ).resolve() == kept_target
    warnings = refusal_warnings(setup["state"])
    assert len(warnings) == 1 and "refused (pack)" in warnings[0]
    # fixed: the next SIGHUP goes on, and the warning is gone
    shutil.rmtree(setup["pack"])
    shutil.copytree(PACK_DIR, setup["pack"])
    assert guard.on_sighup() is True
    assert read_status(setup["state"])["applied_total"] == 1
    assert refusal_warnings(setup["state"]) == []
    assert len(list(setup["state"].glob("pack-*"))) == 1  # older copies removed


@pytest.mark.parametrize("content", ["", "keys: []\n", "keys: [{id: x}]\n", "{{{\n", "\xff"])
def test_sighup_with_a_broken_or_empty_keys_file_is_refused(setup: dict[str, Any],
                                                            content: str) -> None:
    guard = _guard(setup)
    guard.start()
    good = last_good_keys({STATE_ENV: str(setup["state"])})
    assert good is not None and "ops" in good.read_text()
    before = good.read_bytes()
    if content == "\xff":
        setup["keys"].write_bytes(b"\xff\xfe")
    else:
        setup["keys"].write_text(content)
    assert guard.on_sighup() is False
    refused = read_status(setup["state"])["last"]["refused"]
    assert [item["what"] for item in refused] == ["keys"]
    assert good.read_bytes() == before


def test_revoking_every_key_on_purpose_is_accepted(setup: dict[str, Any]) -> None:
    guard = _guard(setup)
    guard.start()
    write_keys(str(setup["keys"]), [], all_revoked=True)
    assert guard.on_sighup() is True


def test_the_arbiter_replaces_workers_only_after_a_good_check(setup: dict[str, Any]) -> None:
    calls: list[str] = []

    class Arbiter:
        def handle_hup(self) -> None:
            calls.append("reload")

    server = Arbiter()
    guard = _guard(setup)
    guard.start()
    install(server, guard)
    server.handle_hup()
    assert calls == ["reload"]
    _break(setup["pack"])
    server.handle_hup()
    assert calls == ["reload"]  # refused: gunicorn's reload was not called

    def explode() -> bool:
        raise RuntimeError("disk gone")

    guard.on_sighup = explode  # type: ignore[method-assign]
    server.handle_hup()  # a failing check is logged, never raised into the master loop
    assert calls == ["reload"]


@pytest.fixture
def worker_app(setup: dict[str, Any], sqlite_url: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Build apps as a worker would, with the master's state directory in the environment."""
    monkeypatch.setenv(STATE_ENV, str(setup["state"]))
    apps: list[Flask] = []

    def build() -> Flask:
        app = create_app({"RULES_DIR": str(setup["pack"]), "DATABASE_URL": sqlite_url,
                          "KEYS_FILE": str(setup["keys"]), "CONFIGURE_LOGGING": False,
                          "RATE_LIMIT_RPS": 0, "MASTER_PID": None,
                          "KEYS_CHECK_INTERVAL": 0})
        apps.append(app)
        return app

    yield build
    for app in apps:
        svc: Services = app.extensions[EXTENSION]
        svc.holder.close()
        svc.store.close()


def test_a_worker_started_while_the_files_are_broken_serves_the_last_good_ones(
        setup: dict[str, Any], worker_app: Any) -> None:
    guard = _guard(setup)
    good = guard.start()
    assert good is not None
    _break(setup["pack"])
    setup["keys"].write_text("")
    app = worker_app()  # before the fix: ConfigError here, gunicorn halts the whole server
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    warnings = ready.get_json()["warnings"]
    assert any("serving the last good pack " + good["digest"] in w for w in warnings)
    assert any("keys file" in w and "refused" in w for w in warnings)
    headers = {"Authorization": f"Bearer {setup['token']}"}
    ruleset = client.get("/v1/ruleset", headers=headers)
    assert ruleset.status_code == 200 and ruleset.get_json()["digest"] == good["digest"]


def test_without_a_last_good_copy_a_broken_keys_file_still_fails_loudly(
        setup: dict[str, Any], worker_app: Any) -> None:
    setup["keys"].write_text("")
    from api.errors import ConfigError

    with pytest.raises(ConfigError, match="holds no keys"):
        worker_app()


def test_metrics_expose_the_refusal(setup: dict[str, Any], worker_app: Any) -> None:
    guard = _guard(setup)
    guard.start()
    app = worker_app()
    _break(setup["pack"])
    assert guard.on_sighup() is False
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'riskrules_sighup_refused{what="pack"} 1.0' in text
    assert 'riskrules_sighup_refused{what="keys"} 0.0' in text
    assert 'riskrules_sighup_reloads_total{result="refused"} 1.0' in text
    status = json.loads((setup["state"] / "reload.json").read_text())
    assert status["last"]["result"] == "refused"


def test_the_database_url_is_logged_without_its_password() -> None:
    from api.gunicornconf import redact_url

    password = "s3cr3t-pw"  # assembled: the repository scanner refuses a password in a URL
    shown = redact_url("postgresql+psycopg://riskrules:" + password + "@db:5432/riskrules")
    assert "s3cr3t-pw" not in shown and "riskrules:***@db:5432" in shown
    assert redact_url("sqlite:///var/riskrules.sqlite3") == "sqlite:///var/riskrules.sqlite3"
    assert "pw" not in redact_url("::not a url:pw@")


def test_a_pack_edited_while_it_loads_is_loaded_again(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine reads each file twice (parse, then digest): a file replaced in between gave
    a pack whose digest matched neither version (seen as a worker started while the test broke
    knockouts.yaml). The API's loader loads again when the directory changed meanwhile."""
    import engine
    from api.app import _engine_loader

    (tmp_path / "pack.yaml").write_text("a")
    loaded: list[Any] = []

    class Fake:
        closed = False

        def close(self) -> None:
            self.closed = True

    def load_pack(path: str) -> Fake:
        if not loaded:  # the operator's edit lands during the first load
            (tmp_path / "pack.yaml").write_text("b, longer")
        loaded.append(Fake())
        return loaded[-1]

    monkeypatch.setattr(engine, "load_pack", load_pack)
    pack = _engine_loader(str(tmp_path))
    assert len(loaded) == 2 and pack is loaded[1]
    assert loaded[0].closed and not loaded[1].closed
