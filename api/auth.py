"""API keys (hashed at rest, roles), bearer authentication and the per-key token-bucket rate limit.

Keys are 32 random bytes (256 bits), so a fast hash is enough at rest: a slow hash (scrypt)
protects low-entropy passwords against guessing, and nobody can guess 2^256 keys whatever the
hash costs. sha256 is therefore the default; scrypt hashes are also accepted for sites whose
policy asks for them.

A token is `rr_<secret>~<key id>` (`keys create` prints that form); the hash at rest covers
the secret part. The id names the one key to check, so a request costs at most one hash
whatever the number of keys: an unknown id costs none, a wrong secret one sha256 or one
scrypt. Tokens of the first form, `rr_<secret>` without the id, keep working for sha256 keys
(one sha256, compared in constant time with hmac.compare_digest against every sha256 key);
for scrypt keys the client appends `~<key id>` (no scrypt is ever run for a token without
one). Valid scrypt answers are remembered per worker by the sha256 of the token.

The keys file is re-read when it changes on disk (`KeySource`): a key removed from the file
stops working within `KEYS_CHECK_INTERVAL` seconds, without SIGHUP. A file that does not
parse, or that holds no key, is refused and the last good keys stay (logged as an error):
revoking every key is `riskrules keys revoke --all`, which writes `all_revoked: true`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
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

log = logging.getLogger("riskrules.api")

ROLES = ("submitter", "auditor", "admin", "reviewer")
KEY_PREFIX = "rr_"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
SCRYPT_MAXMEM = 256 * 1024 * 1024  # what verify() lets hashlib.scrypt use
SCRYPT_MAX_N = 2**17  # 2^17 with r=8 is 128 MiB and about 1 s per check: beyond is a mistake
ID_SEPARATOR = "~"  # not in URL-safe base64 nor in key ids; allowed in RFC 6750 bearer tokens


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
    """A new API key secret: `rr_` + 32 random bytes, URL-safe base64 (hashed at rest)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def token_for(secret: str, key_id: str) -> str:
    """The bearer token a client sends: the secret, then `~` and the key id."""
    return f"{secret}{ID_SEPARATOR}{key_id}"


def split_token(token: str) -> tuple[str, str | None]:
    """(secret, key id) of a token; the id is None for a token without one (`rr_<secret>`)."""
    secret, sep, key_id = token.rpartition(ID_SEPARATOR)
    if not sep:
        return token, None
    return secret, key_id


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
    if not (len(parts) == 6 and parts[0] == "scrypt" and all(
            re.fullmatch(r"[0-9]{1,10}", p) for p in parts[1:4])
            and re.fullmatch(r"(?:[0-9a-f]{2}){8,64}", parts[4])
            and re.fullmatch(r"[0-9a-f]{64}", parts[5])):
        raise ValueError("hash must be sha256:<64 hex> or scrypt:N:r:p:<salt hex>:<64 hex>")
    check_scrypt_parameters(*(int(p) for p in parts[1:4]))


def check_scrypt_parameters(n: int, r: int, p: int) -> None:
    """Refuse scrypt parameters hashlib would reject, or that would cost seconds per request."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"scrypt N must be a power of 2 (got {n})")
    if n > SCRYPT_MAX_N:
        raise ValueError(f"scrypt N {n} is over {SCRYPT_MAX_N} (2^17): each check would take "
                         "seconds of CPU and over 128 MiB of memory")
    if not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError(f"scrypt r must be 1-32 and p 1-16 (got r={r}, p={p})")
    if 128 * r * (n + p + 2) > SCRYPT_MAXMEM:
        raise ValueError(f"scrypt N={n}, r={r} needs more than {SCRYPT_MAXMEM >> 20} MiB")


def verify(key: str, stored: str) -> bool:
    """Constant-time check of a presented key against one stored hash."""
    if stored.startswith("sha256:"):
        return hmac.compare_digest("sha256:" + _sha256(key), stored)
    parts = stored.split(":")
    if len(parts) == 6 and parts[0] == "scrypt":
        n, r, p = (int(x) for x in parts[1:4])
        digest = hashlib.scrypt(key.encode("utf-8"), salt=bytes.fromhex(parts[4]), n=n, r=r, p=p,
                                dklen=len(parts[5]) // 2, maxmem=SCRYPT_MAXMEM)
        return hmac.compare_digest(digest.hex(), parts[5])
    return False


def parse_keys(data: Any, origin: str) -> list[ApiKey]:
    """Keys from a parsed document: `{"keys": [...]}` or a bare list of {id, hash, roles}."""
    return parse_key_set(data, origin).keys


@dataclass(frozen=True)
class KeySet:
    """Parsed keys and whether the document says, on purpose, that every key is revoked."""

    keys: list[ApiKey]
    all_revoked: bool = False

    def require_usable(self, origin: str) -> None:
        """An empty key list is a mistake (a truncated file) unless `all_revoked: true` says so."""
        if not self.keys and not self.all_revoked:
            raise ConfigError(
                f"{origin}: holds no keys. An empty or truncated keys file does not revoke "
                "keys; to revoke every key run `riskrules keys revoke --all`")


# Complexity D (22, radon), kept in one piece: validates a keys file entry by entry; each branch is
# a refusal with its own message.
def parse_key_set(data: Any, origin: str) -> KeySet:
    """`parse_keys` plus the `all_revoked` marker of a mapping document."""
    if data is None:
        return KeySet([])
    all_revoked = False
    if isinstance(data, dict):
        unknown = set(data) - {"keys", "all_revoked"}
        if unknown:
            raise ConfigError(f"{origin}: unknown field(s) {', '.join(sorted(unknown))}")
        all_revoked = data.get("all_revoked", False)
        if not isinstance(all_revoked, bool):
            raise ConfigError(f"{origin}: all_revoked must be true or false")
        data = data.get("keys", [])
        if data is None:
            data = []
    if not isinstance(data, list):
        raise ConfigError(f"{origin}: expected a list of keys or {{keys: [...]}}")
    if all_revoked and data:
        raise ConfigError(f"{origin}: all_revoked: true with keys listed; remove one or the other")
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
    return KeySet(keys, all_revoked)


def _parse_text(text: str, origin: str) -> KeySet:
    try:
        return parse_key_set(yaml.safe_load(text), origin)
    except yaml.YAMLError as error:
        raise ConfigError(f"{origin}: not YAML/JSON: {error}") from None


def load_key_set(keys_file: str | None = None, env_value: str | None = None) -> KeySet:
    """Keys from the keys file (YAML or JSON) and from `RISKRULES_API_KEYS` (same shape)."""
    keys: list[ApiKey] = []
    all_revoked = False
    if keys_file:
        path = Path(keys_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read keys file {keys_file}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{keys_file}: not UTF-8 text") from None
        found = _parse_text(text, keys_file)
        keys.extend(found.keys)
        all_revoked = found.all_revoked
    if env_value and env_value.strip():
        found = _parse_text(env_value, "RISKRULES_API_KEYS")
        keys.extend(found.keys)
        all_revoked = all_revoked or found.all_revoked
    ids = [k.id for k in keys]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"key id(s) configured twice: {', '.join(duplicates)}")
    return KeySet(keys, all_revoked and not keys)


def load_keys(keys_file: str | None = None, env_value: str | None = None) -> list[ApiKey]:
    """Keys from the keys file (YAML or JSON) and from `RISKRULES_API_KEYS` (same shape)."""
    return load_key_set(keys_file, env_value).keys


KEYS_HEADER = ("# riskrules API keys: hashes only, never the keys themselves.\n"
               "# Manage with `riskrules keys create | list | revoke`.\n")


def write_keys(keys_file: str, keys: Sequence[ApiKey], *, all_revoked: bool = False,
               mode: int | None = None) -> None:
    """Write the keys file atomically (temp file + rename), keeping its mode (new files 0600)."""
    path = Path(keys_file)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = 0o600
    doc: dict[str, Any] = {"keys": [k.to_dict() for k in keys]}
    if all_revoked:
        doc = {"all_revoked": True, "keys": []}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = KEYS_HEADER + yaml.safe_dump(doc, sort_keys=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_key(keys_file: str, key: ApiKey, mode: int | None = None) -> None:
    """Add a key to the keys file (created 0600 if absent, or with `mode`), atomically."""
    path = Path(keys_file)
    existing: list[ApiKey] = []
    if path.exists():
        existing = load_keys(str(path))
        if any(k.id == key.id for k in existing):
            raise ConfigError(f"{keys_file}: a key with id {key.id!r} already exists")
    write_keys(keys_file, [*existing, key], mode=mode)


def revoke_keys(keys_file: str, ids: Sequence[str], *, revoke_all: bool = False) -> list[str]:
    """Remove keys by id (or every key, with the explicit marker); returns the ids removed."""
    current = load_key_set(keys_file)
    if revoke_all:
        write_keys(keys_file, [], all_revoked=True)
        return [k.id for k in current.keys]
    unknown = sorted(set(ids) - {k.id for k in current.keys})
    if unknown:
        raise ConfigError(f"{keys_file}: no key with id {', '.join(map(repr, unknown))}")
    kept = [k for k in current.keys if k.id not in set(ids)]
    if not kept:
        raise ConfigError(f"{keys_file}: revoking {', '.join(ids)} would leave no key; "
                          "use `riskrules keys revoke --all` to revoke every key on purpose")
    write_keys(keys_file, kept)
    return [k.id for k in current.keys if k.id in set(ids)]


class KeyRing:
    """The configured keys; `authenticate` maps a presented bearer token to a Principal.

    With a `source`, the keys are re-read when the keys file changes (see KeySource).
    """

    def __init__(self, keys: Iterable[ApiKey], source: KeySource | None = None) -> None:
        self.keys: tuple[ApiKey, ...] = ()
        self._by_id: dict[str, ApiKey] = {}
        self._verified: dict[str, str] = {}  # sha256(token) -> key id, for scrypt keys only
        self._lock = threading.Lock()
        self.source = source
        self.replace(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def replace(self, keys: Iterable[ApiKey]) -> None:
        """Install a new key list (forgets every remembered scrypt answer)."""
        keys = tuple(keys)
        with self._lock:
            self.keys = keys
            self._by_id = {k.id: k for k in keys}
            self._verified = {}

    def refresh(self) -> None:
        if self.source is not None:
            found = self.source.poll()
            if found is not None:
                self.replace(found)

    def authenticate(self, token: str) -> Principal | None:
        if not token or len(token) > 512:
            return None
        self.refresh()
        secret, key_id = split_token(token)
        if key_id is not None:
            return self._authenticate_by_id(secret, key_id)
        fingerprint = "sha256:" + _sha256(token)
        match: ApiKey | None = None
        for key in self.keys:  # no early exit: the time taken does not depend on which key
            if key.hash.startswith("sha256:") and hmac.compare_digest(fingerprint, key.hash):
                match = key
        return None if match is None else Principal(match.id, match.roles)

    def _authenticate_by_id(self, secret: str, key_id: str) -> Principal | None:
        """One key, one hash: an unknown id costs none (ids are not secret)."""
        key = self._by_id.get(key_id)
        if key is None or not secret:
            return None
        if key.hash.startswith("sha256:"):
            ok = hmac.compare_digest("sha256:" + _sha256(secret), key.hash)
        else:
            fingerprint = _sha256(secret)
            with self._lock:
                known = self._verified.get(fingerprint)
            ok = known is not None and hmac.compare_digest(known, key.id)
            if not ok:
                ok = verify(secret, key.hash)
                if ok:
                    with self._lock:
                        if self._by_id.get(key.id) is key:
                            self._verified[fingerprint] = key.id
        return Principal(key.id, key.roles) if ok else None


class KeySource:
    """Re-reads a keys file when it changes (size, mtime, inode, then content digest).

    Checked at most every `interval` seconds, from the request that authenticates. A change
    that does not load, or that leaves no key without `all_revoked: true`, is refused: the
    current keys stay and the error is logged once per content.
    """

    def __init__(self, keys_file: str, env_value: str | None, interval: float,
                 clock: Any = time.monotonic) -> None:
        self.keys_file = keys_file
        self.env_value = env_value
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._checked = clock()
        self._stat = self._stat_now()
        self._file_sum = self._file_sum_now()
        self.rejected: str | None = None  # why the file on disk is not the keys in use

    def _stat_now(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.keys_file)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)

    def _file_sum_now(self) -> str | None:
        try:
            return hashlib.sha256(Path(self.keys_file).read_bytes()).hexdigest()
        except OSError:
            return None

    def mark_rejected(self, why: str) -> None:
        self.rejected = why

    def poll(self) -> list[ApiKey] | None:
        """New keys when the file changed and loads; None when unchanged or refused."""
        now = self._clock()
        if now - self._checked < self.interval:
            return None
        with self._lock:
            if now - self._checked < self.interval:
                return None
            self._checked = now
            stat = self._stat_now()
            if stat == self._stat:
                return None
            self._stat = stat
            file_sum = self._file_sum_now()
            if file_sum == self._file_sum:
                return None
            self._file_sum = file_sum
            try:
                found = load_key_set(self.keys_file, self.env_value)
                found.require_usable(self.keys_file)
            except ConfigError as error:
                self.rejected = error.detail
                log.error("keys file %s changed but is refused; the last good keys stay in "
                          "use: %s", self.keys_file, error.detail,
                          extra={"event": "keys_refused", "keys_file": self.keys_file})
                return None
            self.rejected = None
            log.info("keys file %s reloaded: %s", self.keys_file, keys_summary(found.keys),
                     extra={"event": "keys_reloaded", "keys_file": self.keys_file})
            return found.keys


class RateLimiter:
    """Token bucket per key id, in this process only (each gunicorn worker has its own buckets)."""

    def __init__(self, rate: float, burst: int, clock: Any = time.monotonic,
                 max_keys: int = 10000) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.max_keys = max_keys  # bounds memory when keys are client addresses

    def _prune(self, now: float) -> None:
        """Forget full buckets (same as absent); if still too many, the least recently used."""
        self._buckets = {k: (t, last) for k, (t, last) in self._buckets.items()
                         if t + (now - last) * self.rate < self.burst}
        if len(self._buckets) >= self.max_keys:
            recent = sorted(self._buckets.items(), key=lambda item: item[1][1])
            self._buckets = dict(recent[len(recent) // 2:])

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def wait(self, key: str) -> float | None:
        """Like `take` without spending: None if a token is available, else the seconds to wait."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            found = self._buckets.get(key)
            if found is None:
                return None
            tokens = min(float(self.burst), found[0] + (now - found[1]) * self.rate)
            return None if tokens >= 1.0 else float((1.0 - tokens) / self.rate)

    def take(self, key: str) -> float | None:
        """Spend one token; None if allowed, else the seconds until a token is available."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                self._prune(now)
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
