"""API keys (hashed at rest, roles), bearer authentication and the per-key token-bucket rate limit.

Keys are 32 random bytes (256 bits), so a fast hash is enough at rest: a slow hash (scrypt)
protects low-entropy passwords against guessing, and nobody can guess 2^256 keys whatever the
hash costs. sha256 is therefore the default, checked in constant time with hmac.compare_digest
against every configured key; scrypt hashes are also accepted for sites whose policy asks for
them (their cost is paid once per key per worker, then remembered by the sha256 of the key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from api.errors import ConfigError

ROLES = ("submitter", "auditor", "admin")
KEY_PREFIX = "rr_"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class ApiKey:
    """A configured key: its public id, the hash of the secret, and its roles."""

    id: str
    hash: str
    roles: frozenset[str]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "hash": self.hash, "roles": sorted(self.roles)}


@dataclass(frozen=True)
class Principal:
    """Who a request is: key id and roles (`anonymous` with every role when auth is off)."""

    key_id: str
    roles: frozenset[str]


ANONYMOUS = Principal("anonymous", frozenset(ROLES))


def generate_key() -> str:
    """A new API key: `rr_` + 32 random bytes, URL-safe base64."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def hash_key(key: str, scheme: str = "sha256") -> str:
    """The at-rest form of a key: `sha256:<hex>` or `scrypt:<n>:<r>:<p>:<salt hex>:<hex>`."""
    if scheme == "sha256":
        return "sha256:" + _sha256(key)
    if scheme == "scrypt":
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(key.encode("utf-8"), salt=salt, **_SCRYPT)
        return f"scrypt:{_SCRYPT['n']}:{_SCRYPT['r']}:{_SCRYPT['p']}:{salt.hex()}:{digest.hex()}"
    raise ValueError(f"unknown hash scheme {scheme!r} (sha256 or scrypt)")


def _check_hash_format(value: str) -> None:
    if re.fullmatch(r"sha256:[0-9a-f]{64}", value):
        return
    parts = value.split(":")
    if (len(parts) == 6 and parts[0] == "scrypt" and all(p.isdigit() for p in parts[1:4])
            and re.fullmatch(r"[0-9a-f]+", parts[4]) and re.fullmatch(r"[0-9a-f]{64}", parts[5])):
        return
    raise ValueError("hash must be sha256:<64 hex> or scrypt:N:r:p:<salt hex>:<64 hex>")


def verify(key: str, stored: str) -> bool:
    """Constant-time check of a presented key against one stored hash."""
    if stored.startswith("sha256:"):
        return hmac.compare_digest("sha256:" + _sha256(key), stored)
    parts = stored.split(":")
    if len(parts) == 6 and parts[0] == "scrypt":
        n, r, p = (int(x) for x in parts[1:4])
        digest = hashlib.scrypt(key.encode("utf-8"), salt=bytes.fromhex(parts[4]), n=n, r=r, p=p,
                                dklen=len(parts[5]) // 2, maxmem=256 * 1024 * 1024)
        return hmac.compare_digest(digest.hex(), parts[5])
    return False


def parse_keys(data: Any, origin: str) -> list[ApiKey]:
    """Keys from a parsed document: `{"keys": [...]}` or a bare list of {id, hash, roles}."""
    if data is None:
        return []
    if isinstance(data, dict):
        data = data.get("keys", [])
    if not isinstance(data, list):
        raise ConfigError(f"{origin}: expected a list of keys or {{keys: [...]}}")
    keys: list[ApiKey] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        where = f"{origin}: keys[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a mapping with id, hash, roles")
        unknown = set(item) - {"id", "hash", "roles", "created_at", "note"}
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        key_id, digest, roles = item.get("id"), item.get("hash"), item.get("roles")
        if not isinstance(key_id, str) or not _ID.match(key_id):
            raise ConfigError(f"{where}: id must match {_ID.pattern}")
        if key_id in seen:
            raise ConfigError(f"{where}: duplicate id {key_id!r}")
        if not isinstance(digest, str):
            raise ConfigError(f"{where}: hash missing (keys are stored hashed, never in clear)")
        try:
            _check_hash_format(digest)
        except ValueError as error:
            raise ConfigError(f"{where}: {error}") from None
        if (not isinstance(roles, list) or not roles
                or not all(isinstance(r, str) and r in ROLES for r in roles)):
            raise ConfigError(f"{where}: roles must be a non-empty list of {', '.join(ROLES)}")
        seen.add(key_id)
        keys.append(ApiKey(key_id, digest, frozenset(roles)))
    return keys


def load_keys(keys_file: str | None = None, env_value: str | None = None) -> list[ApiKey]:
    """Keys from the keys file (YAML or JSON) and from `RISKRULES_API_KEYS` (same shape)."""
    keys: list[ApiKey] = []
    if keys_file:
        path = Path(keys_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read keys file {keys_file}: {error.strerror}") from None
        try:
            keys.extend(parse_keys(yaml.safe_load(text), keys_file))
        except yaml.YAMLError as error:
            raise ConfigError(f"{keys_file}: not YAML/JSON: {error}") from None
    if env_value and env_value.strip():
        try:
            keys.extend(parse_keys(yaml.safe_load(env_value), "RISKRULES_API_KEYS"))
        except yaml.YAMLError as error:
            raise ConfigError(f"RISKRULES_API_KEYS: not YAML/JSON: {error}") from None
    ids = [k.id for k in keys]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"key id(s) configured twice: {', '.join(duplicates)}")
    return keys


def append_key(keys_file: str, key: ApiKey) -> None:
    """Add a key to the keys file (created 0600 if absent), atomically (temp file + rename)."""
    path = Path(keys_file)
    existing: list[dict[str, Any]] = []
    if path.exists():
        current = load_keys(str(path))
        if any(k.id == key.id for k in current):
            raise ConfigError(f"{keys_file}: a key with id {key.id!r} already exists")
        existing = [k.to_dict() for k in current]
    existing.append(key.to_dict())
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ("# riskrules API keys: hashes only, never the keys themselves.\n"
              "# Add keys with `riskrules keys create`.\n")
    text = header + yaml.safe_dump({"keys": existing}, sort_keys=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class KeyRing:
    """The configured keys; `authenticate` maps a presented bearer token to a Principal."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self.keys: tuple[ApiKey, ...] = tuple(keys)
        self._verified: dict[str, str] = {}  # sha256(token) -> key id, for scrypt keys only
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.keys)

    def authenticate(self, token: str) -> Principal | None:
        if not token or len(token) > 512:
            return None
        fingerprint = "sha256:" + _sha256(token)
        match: ApiKey | None = None
        for key in self.keys:  # no early exit: the time taken does not depend on which key
            if key.hash.startswith("sha256:") and hmac.compare_digest(fingerprint, key.hash):
                match = key
        if match is None:
            with self._lock:
                known = self._verified.get(fingerprint)
            for key in self.keys:
                if key.hash.startswith("scrypt:") and (known == key.id or (
                        known is None and verify(token, key.hash))):
                    match = key
                    with self._lock:
                        self._verified[fingerprint] = key.id
                    break
        return None if match is None else Principal(match.id, match.roles)


class RateLimiter:
    """Token bucket per key id, in this process only (each gunicorn worker has its own buckets)."""

    def __init__(self, rate: float, burst: int, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float | None:
        """Spend one token; None if allowed, else the seconds until a token is available."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return float((1.0 - tokens) / self.rate)


def retry_after_header(seconds: float) -> str:
    """Retry-After wants whole seconds; never 0 (a client would retry at once)."""
    return str(max(1, math.ceil(seconds)))


def keys_summary(keys: Sequence[ApiKey]) -> str:
    return ", ".join(f"{k.id} ({'+'.join(sorted(k.roles))})" for k in keys) or "none"


def dump_keys_json(keys: Sequence[ApiKey]) -> str:
    """The `RISKRULES_API_KEYS` form of keys (for tests and container secrets)."""
    return json.dumps([k.to_dict() for k in keys])
