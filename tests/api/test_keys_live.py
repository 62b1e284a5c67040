"""Keys as a running server sees them: re-read on change (revoke without restart), refused when
broken, at most one hash per request, failed authentication limited per client address, and
scrypt parameters checked when the file loads."""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import api.auth
from api import create_app
from api.auth import (
    ApiKey,
    KeyRing,
    KeySource,
    append_key,
    generate_key,
    hash_key,
    load_keys,
    token_for,
    write_keys,
)
from api.context import EXTENSION, Services
from api.errors import ConfigError
from cli.main import main
from tests.api.support import PACK_DIR


@pytest.fixture
def keys_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "keys.yaml"
    tokens = {}
    for name in ("alice", "bob"):
        secret = generate_key()
        append_key(str(path), ApiKey(name, hash_key(secret), frozenset({"auditor"})))
        tokens[name] = token_for(secret, name)
    return path, tokens


@pytest.fixture
def live_app(keys_file: tuple[Path, dict[str, str]], sqlite_url: str) -> Iterator[Any]:
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        config = {"RULES_DIR": str(PACK_DIR), "DATABASE_URL": sqlite_url,
                  "KEYS_FILE": str(keys_file[0]), "CONFIGURE_LOGGING": False,
                  "RATE_LIMIT_RPS": 0, "MASTER_PID": None, "KEYS_CHECK_INTERVAL": 0,
                  **overrides}
        app = create_app(config)
        apps.append(app)
        return app

    yield build
    for app in apps:
        svc: Services = app.extensions[EXTENSION]
        svc.holder.close()
        svc.store.close()


def _get(app: Flask, token: str, path: str = "/v1/ruleset", addr: str = "10.0.0.1") -> int:
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"},
                                 environ_base={"REMOTE_ADDR": addr}).status_code


def test_keys_revoke_takes_effect_without_restart(
        keys_file: tuple[Path, dict[str, str]], live_app: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, tokens = keys_file
    app = live_app()
    assert _get(app, tokens["alice"]) == 200 and _get(app, tokens["bob"]) == 200
    assert main(["keys", "revoke", "alice", "--keys-file", str(path)]) == 0
    assert "revoked alice" in capsys.readouterr().err
    assert _get(app, tokens["alice"]) == 401
    assert _get(app, tokens["bob"]) == 200
    assert main(["keys", "list", "--keys-file", str(path)]) == 0
    listing = capsys.readouterr().out
    assert "bob\tauditor\tsha256" in listing and "alice" not in listing
    # the last key needs --all; an unknown id is an error; neither changes the file
    before = path.read_bytes()
    assert main(["keys", "revoke", "bob", "--keys-file", str(path)]) == 2
    assert main(["keys", "revoke", "carol", "--keys-file", str(path)]) == 2
    assert main(["keys", "revoke", "--keys-file", str(path)]) == 2
    assert path.read_bytes() == before
    assert main(["keys", "revoke", "--all", "--keys-file", str(path)]) == 0
    assert _get(app, tokens["bob"]) == 401
    assert load_keys(str(path)) == []


@pytest.mark.parametrize("content", ["", "keys: []\n", "keys:\n  - {id: x, hash: nope}\n",
                                     "[unclosed\n"])
def test_a_broken_or_empty_keys_file_keeps_the_last_good_keys(
        keys_file: tuple[Path, dict[str, str]], live_app: Any, content: str,
        caplog: pytest.LogCaptureFixture) -> None:
    path, tokens = keys_file
    app = live_app()
    path.write_text(content)
    with caplog.at_level("ERROR", logger="riskrules.api"):
        assert _get(app, tokens["alice"]) == 200
    assert any("last good keys stay in use" in r.getMessage() for r in caplog.records)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert any("refused" in w for w in ready.get_json()["warnings"])
    # the file fixed again: the new content is used and the warning goes
    secret = generate_key()
    write_keys(str(path), [ApiKey("carol", hash_key(secret), frozenset({"auditor"}))])
    assert _get(app, token_for(secret, "carol")) == 200
    assert _get(app, tokens["alice"]) == 401
    assert "warnings" not in app.test_client().get("/readyz").get_json()


def test_a_worker_starting_on_an_all_revoked_file_boots_and_refuses_everyone(
        keys_file: tuple[Path, dict[str, str]], live_app: Any) -> None:
    path, tokens = keys_file
    write_keys(str(path), [], all_revoked=True)
    app = live_app()
    assert _get(app, tokens["alice"]) == 401


def test_key_source_checks_at_most_every_interval(keys_file: tuple[Path, dict[str, str]]) -> None:
    path, tokens = keys_file
    now = [100.0]
    source = KeySource(str(path), None, interval=1.0, clock=lambda: now[0])
    ring = KeyRing(load_keys(str(path)), source)
    main(["keys", "revoke", "alice", "--keys-file", str(path)])
    assert ring.authenticate(tokens["alice"]) is not None  # within the interval
    now[0] += 1.5
    assert ring.authenticate(tokens["alice"]) is None
    assert ring.authenticate(tokens["bob"]) is not None


# -- cost of a request ---------------------------------------------------------------------------

@pytest.fixture
def scrypt_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = hashlib.scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(api.auth.hashlib, "scrypt", counting)
    return calls


def test_unknown_tokens_cost_at_most_one_hash(scrypt_count: list[int]) -> None:
    secrets = {f"k{i}": generate_key() for i in range(5)}
    ring = KeyRing([ApiKey(i, hash_key(s, "scrypt"), frozenset({"auditor"}))
                    for i, s in secrets.items()])
    scrypt_count[0] = 0
    assert ring.authenticate(generate_key()) is None  # no id: never scrypt
    assert ring.authenticate(token_for(generate_key(), "nobody")) is None  # unknown id: none
    assert scrypt_count[0] == 0
    assert ring.authenticate(token_for(generate_key(), "k3")) is None  # wrong secret: one
    assert scrypt_count[0] == 1
    found = ring.authenticate(token_for(secrets["k3"], "k3"))
    assert found is not None and found.key_id == "k3" and scrypt_count[0] == 2
    assert ring.authenticate(token_for(secrets["k3"], "k3")) is not None
    assert scrypt_count[0] == 2  # remembered
    # a reloaded key list forgets what it remembered (a revoked key must not linger)
    ring.replace([k for k in ring.keys if k.id != "k3"])
    assert ring.authenticate(token_for(secrets["k3"], "k3")) is None


@pytest.mark.parametrize(("params", "message"), [
    ("1048576:8:1", "over 131072"),          # N = 2^20: 1 GiB, a 500 per request before
    ("1000:8:1", "power of 2"),
    ("1:8:1", "power of 2"),
    ("16384:0:1", "r must be 1-32"),
    ("16384:8:99", "p 1-16"),
    ("16384:8:1:", "hash must be"),
])
def test_invalid_scrypt_parameters_are_refused_at_load(params: str, message: str) -> None:
    stored = f"scrypt:{params}:{'ab' * 16}:{'cd' * 32}"
    with pytest.raises(ConfigError, match=message):
        api.auth.parse_keys([{"id": "x", "hash": stored, "roles": ["admin"]}], "keys.yaml")
    good = hash_key("k", "scrypt")
    assert api.auth.parse_keys([{"id": "x", "hash": good, "roles": ["admin"]}], "keys.yaml")


def test_failed_authentication_is_limited_per_client_address(live_app: Any,
                                                              keys_file: Any) -> None:
    _, tokens = keys_file
    app = live_app(AUTH_FAILURE_RATE=0.001, AUTH_FAILURE_BURST=3)
    for _ in range(3):
        assert _get(app, token_for(generate_key(), "alice"), addr="10.9.9.9") == 401
    client = app.test_client()
    blocked = client.get("/v1/ruleset", headers={"Authorization": f"Bearer {tokens['alice']}"},
                         environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert _get(app, tokens["alice"], addr="10.0.0.2") == 200  # another address is not
    # behind a trusted proxy the client is the last X-Forwarded-For hop
    via_proxy = client.get("/v1/ruleset", headers={
        "Authorization": f"Bearer {tokens['alice']}", "X-Forwarded-For": "10.9.9.9"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert via_proxy.status_code == 429
    spoofed = client.get("/v1/ruleset", headers={
        "Authorization": f"Bearer {tokens['alice']}", "X-Forwarded-For": "10.0.0.3"},
        environ_base={"REMOTE_ADDR": "10.9.9.9"})  # not a trusted proxy: header ignored
    assert spoofed.status_code == 429


def test_the_failure_limiter_stays_bounded() -> None:
    limiter = api.auth.RateLimiter(0.001, 2, max_keys=100)
    for i in range(1000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._buckets) <= 100


# -- /metrics --------------------------------------------------------------------------------------

def test_invented_methods_share_one_label(live_app: Any) -> None:
    app = live_app()
    client = app.test_client()
    rng = random.Random(3)
    client.get("/healthz")
    for _ in range(200):
        method = "".join(rng.choice(string.ascii_uppercase) for _ in range(12))
        client.open("/healthz", method=method)
    text = client.get("/metrics").get_data(as_text=True)
    methods = {line.split('method="', 1)[1].split('"', 1)[0]
               for line in text.splitlines() if line.startswith("riskrules_http_requests_total{")}
    assert methods == {"GET", "other"}
    assert len(text) < 40_000


def test_metrics_can_require_a_key(live_app: Any, keys_file: Any) -> None:
    _, tokens = keys_file
    open_app = live_app()
    assert open_app.test_client().get("/metrics").status_code == 200
    app = live_app(METRICS_REQUIRE_KEY=True)
    assert app.test_client().get("/metrics").status_code == 401
    assert _get(app, tokens["alice"], "/metrics") == 200
