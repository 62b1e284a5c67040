"""Keys: hashing, verification, keys files, the key ring and the token bucket."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from api.auth import (
    ApiKey,
    KeyRing,
    RateLimiter,
    append_key,
    generate_key,
    hash_key,
    load_keys,
    retry_after_header,
    token_for,
    verify,
)
from api.errors import ConfigError


def test_keys_are_random_and_hashes_verify() -> None:
    key = generate_key()
    assert key.startswith("rr_") and len(key) > 40 and key != generate_key()
    for scheme in ("sha256", "scrypt"):
        stored = hash_key(key, scheme)
        assert key not in stored
        assert verify(key, stored)
        assert not verify(key + "x", stored)
    assert not verify(key, "md5:abc")


def test_key_ring_maps_tokens_to_roles() -> None:
    a, b = generate_key(), generate_key()
    ring = KeyRing([ApiKey("a", hash_key(a), frozenset({"submitter"})),
                    ApiKey("b", hash_key(b, "scrypt"), frozenset({"auditor", "admin"}))])
    first = ring.authenticate(a)
    assert first is not None and first.key_id == "a" and first.roles == {"submitter"}
    same = ring.authenticate(token_for(a, "a"))  # the id form works for every key
    assert same is not None and same.key_id == "a"
    for _ in range(2):  # the second time comes from the verified cache
        second = ring.authenticate(token_for(b, "b"))
        assert second is not None and second.key_id == "b"
    # a scrypt key needs the id form: a token without one never runs scrypt
    assert ring.authenticate(b) is None
    assert ring.authenticate(token_for(b, "a")) is None  # another key's id
    assert ring.authenticate(token_for(a, "b")) is None
    assert ring.authenticate("rr_nope") is None
    assert ring.authenticate("") is None


def test_keys_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "keys.yaml"
    append_key(str(path), ApiKey("one", hash_key("k1"), frozenset({"submitter"})))
    append_key(str(path), ApiKey("two", hash_key("k2"), frozenset({"auditor", "admin"})))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "k1" not in path.read_text()
    keys = load_keys(str(path))
    assert [(k.id, sorted(k.roles)) for k in keys] == [("one", ["submitter"]),
                                                       ("two", ["admin", "auditor"])]
    with pytest.raises(ConfigError, match="already exists"):
        append_key(str(path), ApiKey("one", hash_key("k3"), frozenset({"admin"})))


def test_keys_from_environment_json() -> None:
    env = json.dumps([{"id": "ci", "hash": hash_key("x"), "roles": ["submitter"]}])
    assert [k.id for k in load_keys(None, env)] == ["ci"]


@pytest.mark.parametrize(("text", "message"), [
    ('[{"id": "a", "hash": "plain", "roles": ["admin"]}]', "hash must be"),
    ('[{"id": "a", "key": "plain", "roles": ["admin"]}]', "unknown field"),
    ('[{"id": "a", "hash": "sha256:' + "0" * 64 + '", "roles": ["root"]}]', "roles must be"),
    ('[{"id": "a b", "hash": "sha256:' + "0" * 64 + '", "roles": ["admin"]}]', "id must match"),
    ('{"keys": 3}', "expected a list"),
    ("[1]", "expected a mapping"),
    ("[{a: b", "not YAML"),
])
def test_bad_keys_are_configuration_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_keys(None, text)


def test_duplicate_ids_across_sources(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    append_key(str(path), ApiKey("dup", hash_key("k1"), frozenset({"admin"})))
    env = json.dumps([{"id": "dup", "hash": hash_key("k2"), "roles": ["admin"]}])
    with pytest.raises(ConfigError, match="configured twice"):
        load_keys(str(path), env)
    with pytest.raises(ConfigError, match="cannot read"):
        load_keys(str(tmp_path / "missing.yaml"))


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [None, None, None]
    wait = limiter.take("k")
    assert wait == pytest.approx(0.5)
    assert limiter.take("other") is None  # buckets are per key
    now[0] += 0.5
    assert limiter.take("k") is None
    assert limiter.take("k") is not None
    assert RateLimiter(rate=0, burst=1).take("k") is None  # 0 disables
    assert retry_after_header(0.01) == "1" and retry_after_header(2.2) == "3"
