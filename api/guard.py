"""The last good pack and keys: what the gunicorn master checks before a SIGHUP replaces workers.

SIGHUP makes gunicorn start new workers, which load the pack and the keys from disk. Without a
check, a broken rule file left every new worker without a pack (503 everywhere) and a broken or
empty keys file made the workers fail to boot, which stops the master. This module owns:

* the **state directory** (`RISKRULES_STATE_DIR`, else a private temporary directory the master
  makes at start and removes at exit), shared by the master and its workers:
  `pack` (a link to a validated copy of the pack), `keys.yaml` (the last keys file that parsed
  with at least one key) and `reload.json` (the outcome of the last SIGHUP);
* **validation**: the pack is loaded in a forked child (so that durable_rules state never
  enters the master, whose memory every worker inherits), the keys are parsed in the master;
* the **SIGHUP guard** installed by `api.gunicornconf.on_starting`: when either check fails the
  SIGHUP is refused (workers are not replaced), the refusal is logged and written to
  `reload.json`, which `/readyz` (`warnings`) and `/metrics` (`riskrules_sighup_*`) report;
* the **fallback** a worker uses when it starts (recycled, or replacing a killed one) while the
  files on disk are broken: the last good copies above.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.auth import ApiKey, keys_summary, load_key_set
from api.errors import ConfigError
from api.settings import TABLE, setting
from engine.timefmt import rfc3339

log = logging.getLogger("riskrules.api")

STATE_ENV = str(TABLE["STATE_DIR"].env)
PACK_LINK = "pack"
KEYS_COPY = "keys.yaml"
STATUS_FILE = "reload.json"
PROBE_TIMEOUT = 120.0  # seconds a pack may take to load in the probe child


def state_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The state directory shared by master and workers, if one is configured."""
    value = setting("STATE_DIR", environ=environ)
    return Path(value) if value else None


def last_good_pack(environ: Mapping[str, str] | None = None) -> Path | None:
    state = state_dir(environ)
    if state is None:
        return None
    link = state / PACK_LINK
    return link if link.is_dir() else None


def last_good_keys(environ: Mapping[str, str] | None = None) -> Path | None:
    state = state_dir(environ)
    if state is None:
        return None
    path = state / KEYS_COPY
    return path if path.is_file() else None


def _now() -> str:
    return rfc3339(datetime.now(UTC), "milliseconds")


def _write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the pack, loaded in a child process --------------------------------------------------------

def describe_pack(rules_dir: str | Path) -> dict[str, Any]:
    """Load a pack and describe it (name, version, digest, lists and watchlists with as-of dates)."""
    from engine import load_pack

    pack = load_pack(rules_dir)
    try:
        screener = getattr(pack, "screener", None)
        watchlists = {w.name: (w.as_of.isoformat() if w.as_of else None)
                      for w in getattr(screener, "watchlists", ()) or ()}
        return {
            "ok": True, "name": pack.name, "version": pack.version, "digest": pack.digest,
            "rules": len(pack.rules),
            "lists": {n: (ref.as_of.isoformat() if ref.as_of else None)
                      for n, ref in sorted(pack.lists.items())},
            "watchlists": watchlists,
        }
    finally:
        pack.close()


def probe_pack(rules_dir: str | Path, timeout: float = PROBE_TIMEOUT) -> dict[str, Any]:
    """`describe_pack` in a forked child: {"ok": True, ...} or {"ok": False, "error": "..."}.

    The child exits with os._exit and never returns into the caller's code; a child that takes
    longer than `timeout` is killed and the pack counts as not loading.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        status = 0
        try:
            os.close(read_fd)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                        signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD, signal.SIGTTIN,
                        signal.SIGTTOU, signal.SIGWINCH):
                signal.signal(sig, signal.SIG_DFL)
            try:
                result = describe_pack(rules_dir)
            except Exception as error:
                result = {"ok": False, "error": str(error) or type(error).__name__}
            data = json.dumps(result).encode()
            while data:
                data = data[os.write(write_fd, data):]
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                return {"ok": False, "error": f"the pack took over {timeout:g} s to load"}
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    try:
        found: dict[str, Any] = json.loads(b"".join(chunks))
    except ValueError:
        return {"ok": False, "error": "the pack check ended without an answer (crashed)"}
    return found


# -- the state directory -------------------------------------------------------------------------

@dataclass
class Refusal:
    """One reason a SIGHUP was refused."""

    what: str  # "pack" or "keys"
    detail: str


@dataclass
class Guard:
    """Master-side: validates the pack and keys, keeps their last good copies, records SIGHUPs."""

    state: Path
    rules_dir: str
    keys_file: str | None
    api_keys: str | None
    insecure_no_auth: bool
    probe: Callable[[str | Path], dict[str, Any]] = probe_pack
    _generation: int = 0
    _pending: dict[str, Any] = field(default_factory=dict)

    # -- checks -----------------------------------------------------------------------------
    def check_pack(self) -> tuple[Path | None, dict[str, Any]]:
        """Copy the pack into the state directory and load the copy; (copy or None, result)."""
        self._generation += 1
        copy = self.state / f"pack-{os.getpid()}-{self._generation}"
        try:
            shutil.copytree(self.rules_dir, copy, symlinks=False)
        except (OSError, shutil.Error) as error:
            shutil.rmtree(copy, ignore_errors=True)
            return None, {"ok": False, "error": f"cannot read the pack at {self.rules_dir}: "
                                                f"{error}"}
        result = self.probe(copy)
        if not result.get("ok"):
            shutil.rmtree(copy, ignore_errors=True)
            # diagnostics name the copy's files: name the operator's instead
            message = str(result.get("error")).replace(str(copy), str(self.rules_dir))
            return None, {**result, "error": message}
        return copy, result

    def check_keys(self) -> tuple[bytes | None, list[ApiKey], str | None]:
        """(file bytes, keys, None) when the keys load and hold a key; else (None, [], why)."""
        if self.insecure_no_auth and not self.keys_file and not self.api_keys:
            return None, [], None
        try:
            key_set = load_key_set(self.keys_file, self.api_keys)
            key_set.require_usable(self.keys_file or "RISKRULES_API_KEYS")
            raw = Path(self.keys_file).read_bytes() if self.keys_file else None
        except ConfigError as error:
            return None, [], error.detail
        except OSError as error:
            return None, [], f"cannot read keys file {self.keys_file}: {error.strerror}"
        return raw, key_set.keys, None

    # -- commits ----------------------------------------------------------------------------
    def commit_pack(self, copy: Path) -> None:
        """Point `state/pack` at a validated copy; remove copies no longer pointed at."""
        link = self.state / PACK_LINK
        tmp = self.state / f".pack-link-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(copy.name)
        os.replace(tmp, link)
        for old in self.state.glob("pack-*"):
            if old.is_dir() and old.name != copy.name:
                shutil.rmtree(old, ignore_errors=True)

    def commit_keys(self, raw: bytes | None) -> None:
        if raw is not None:
            _write_atomic(self.state / KEYS_COPY, raw)

    # -- status -----------------------------------------------------------------------------
    def read_status(self) -> dict[str, Any]:
        return read_status(self.state)

    def record(self, refusals: list[Refusal], digest: str | None = None) -> dict[str, Any]:
        status = self.read_status()
        applied = int(status.get("applied_total", 0))
        refused = int(status.get("refused_total", 0))
        if refusals:
            refused += 1
        else:
            applied += 1
        doc = {
            "last": {"at": _now(), "result": "refused" if refusals else "applied",
                     "refused": [{"what": r.what, "detail": r.detail[:2000]} for r in refusals]},
            "applied_total": applied, "refused_total": refused,
            "serving_digest": digest or status.get("serving_digest"),
        }
        _write_atomic(self.state / STATUS_FILE, json.dumps(doc).encode(), 0o644)
        return doc

    # -- start and SIGHUP -------------------------------------------------------------------
    def start(self) -> dict[str, Any] | None:
        """At master start: keep copies of the pack and keys if they are good; log what serves."""
        copy, result = self.check_pack()
        if copy is not None:
            self.commit_pack(copy)
            log.info("rule pack %s %s (%s), %d rules", result["name"], result["version"],
                     result["digest"], result["rules"], extra={
                         "pack": result["name"], "pack_version": result["version"],
                         "digest": result["digest"], "rules_dir": self.rules_dir,
                         "lists": result["lists"], "watchlists": result["watchlists"]})
        else:
            # a configured state directory may hold an earlier run's copy: a server that starts
            # on a broken pack must not serve it (it never became this run's good pack)
            (self.state / PACK_LINK).unlink(missing_ok=True)
            log.error("rule pack at %s does not load: %s (workers will answer 503 until it "
                      "is fixed and the server gets SIGHUP)", self.rules_dir, result["error"],
                      extra={"rules_dir": self.rules_dir})
        raw, _, why = self.check_keys()
        if why is None:
            self.commit_keys(raw)
        else:
            (self.state / KEYS_COPY).unlink(missing_ok=True)
        _write_atomic(self.state / STATUS_FILE, json.dumps({
            "last": None, "applied_total": 0, "refused_total": 0,
            "serving_digest": result.get("digest")}).encode(), 0o644)
        return result if copy is not None else None

    def on_sighup(self) -> bool:
        """Validate before the workers are replaced: True to go on, False to refuse."""
        started = time.monotonic()
        refusals: list[Refusal] = []
        copy, result = self.check_pack()
        if copy is None:
            refusals.append(Refusal("pack", f"rule pack at {self.rules_dir} does not load: "
                                            f"{result['error']}"))
        raw, keys, why = self.check_keys()
        if why is not None:
            refusals.append(Refusal("keys", why))
        if refusals:
            if copy is not None:
                shutil.rmtree(copy, ignore_errors=True)
            status = self.record(refusals)
            for refusal in refusals:
                log.error("SIGHUP refused: the workers keep serving the last good %s; %s",
                          refusal.what, refusal.detail, extra={
                              "event": "sighup_refused", "what": refusal.what,
                              "serving_digest": status.get("serving_digest")})
            return False
        assert copy is not None
        self.commit_pack(copy)
        self.commit_keys(raw)
        self.record([], result.get("digest"))
        log.info("SIGHUP accepted: pack %s, keys %s; replacing the workers", result["digest"],
                 keys_summary(keys) if keys else "none (authentication off)", extra={
                     "event": "sighup_applied", "digest": result["digest"],
                     "check_ms": round((time.monotonic() - started) * 1000, 1)})
        return True


def read_status(state: Path | None) -> dict[str, Any]:
    """The last SIGHUP outcome written by the master ({} when there is none)."""
    if state is None:
        return {}
    try:
        found = json.loads((state / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def refusal_warnings(state: Path | None) -> list[str]:
    """Human-readable lines for /readyz when the last SIGHUP was refused."""
    last = read_status(state).get("last") or {}
    if last.get("result") != "refused":
        return []
    return [f"SIGHUP at {last.get('at')} refused ({item.get('what')}): {item.get('detail')}; "
            f"serving the last good {item.get('what')}" for item in last.get("refused") or []]


def install(server: Any, guard: Guard) -> None:
    """Wrap the arbiter's SIGHUP handler: validate first, replace the workers only if good."""
    original = server.handle_hup

    def handle_hup() -> None:
        try:
            go_on = guard.on_sighup()
        except Exception:  # a failing check must never take the master down
            log.exception("SIGHUP check failed; the workers are not replaced")
            return
        if go_on:
            original()

    server.handle_hup = handle_hup


def make_state_dir() -> tuple[Path, bool]:
    """The configured state directory (created), or a new private one (owned: remove at exit)."""
    configured = state_dir()
    if configured is not None:
        configured.mkdir(parents=True, exist_ok=True)
        return configured, False
    path = Path(tempfile.mkdtemp(prefix="riskrules-state-"))
    os.environ[STATE_ENV] = str(path)
    return path, True
