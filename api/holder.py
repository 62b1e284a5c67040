"""The current rule pack of one worker, as the API uses it: a thin adapter over engine.holder.

`engine.holder.PackHolder` owns the mechanics (leases, atomic swap, closing the replaced pack
after its last evaluation). This module adds what only the HTTP service needs: a worker that
starts without a valid pack (readyz answers 503 until one loads), `NotReady` when nothing is
loaded, text timestamps for the ruleset document, and the optional file watcher.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from api.errors import NotReady
from engine.errors import EngineError
from engine.holder import Lease as EngineLease
from engine.holder import PackHolder as EngineHolder
from engine.timefmt import rfc3339

log = logging.getLogger("riskrules.api")

PackLoader = Callable[[str], Any]
NOT_READY = "no valid rule pack is loaded; see the server log and /readyz"


def _text(moment: datetime) -> str:
    return rfc3339(moment, "milliseconds")


@dataclass(frozen=True)
class Lease:
    """A pack that stays open while the lease is held."""

    pack: Any
    loaded_at: str


def _lease(lease: EngineLease[Any]) -> Lease:
    return Lease(lease.pack, _text(lease.installed_at))


class PackHolder:
    """Holds the current pack; thread-safe. None is loaded until the first successful load."""

    def __init__(self, loader: PackLoader, rules_dir: str) -> None:
        self._loader = loader
        self.rules_dir = rules_dir
        self._lock = threading.Lock()  # guards _engine's transitions (first load, close)
        self._engine: EngineHolder[Any] | None = None
        self.load_error: Exception | None = None
        self.fallback_note: str | None = None  # set when serving the master's last good copy

    def _load(self, path: str | Path) -> Any:
        return self._loader(str(path))

    @property
    def loaded(self) -> bool:
        engine = self._engine
        return engine is not None and not engine.closed

    def current(self) -> Lease | None:
        """The current pack, unleased (for read-only metadata such as /v1/ruleset)."""
        engine = self._engine
        if engine is None:
            return None
        try:
            return _lease(engine.peek())
        except EngineError:  # closed meanwhile
            return None

    @contextmanager
    def lease(self) -> Iterator[Lease]:
        """Hold the current pack for one evaluation (or batch); 503 when none is loaded."""
        engine = self._engine
        if engine is None:
            raise NotReady(NOT_READY)
        with ExitStack() as stack:
            try:
                held = stack.enter_context(engine.current())
            except EngineError:  # closed meanwhile
                raise NotReady(NOT_READY) from None
            yield _lease(held)

    def load(self) -> Lease:
        """Load the pack from `rules_dir` and make it current; raises PackError (old one stays)."""
        with self._lock:
            if self._engine is None:
                self._engine = EngineHolder(self._loader(self.rules_dir), self._load)
                return _lease(self._engine.peek())
            engine = self._engine
        return _lease(engine.load(self.rules_dir))

    def try_initial_load(self, fallback: Path | None = None) -> None:
        """Load at start; a failure is remembered (readyz says 503) instead of raised.

        With `fallback` (the last good copy the gunicorn master keeps, see api.guard), a pack
        that does not load is replaced by that copy: the worker serves the last good pack, and
        /readyz says so in its warnings. `rules_dir` stays the source of later reloads.
        """
        try:
            self.load()
            self.load_error = None
            return
        except Exception as error:
            self.load_error = error
            log.error("rule pack at %s did not load: %s", self.rules_dir, error)
        if fallback is None:
            return
        try:
            with self._lock:
                self._engine = EngineHolder(self._loader(str(fallback)), self._load)
                lease = _lease(self._engine.peek())
        except Exception as error:
            log.error("the last good pack at %s did not load either: %s", fallback, error)
            return
        self.fallback_note = (f"rule pack at {self.rules_dir} does not load ({self.load_error}); "
                              f"serving the last good pack {lease.pack.digest}")
        self.load_error = None
        log.error("%s", self.fallback_note, extra={"event": "pack_fallback",
                                                   "digest": lease.pack.digest})

    def swap(self, pack: Any) -> Lease:
        """Make `pack` current; the previous pack closes once its last lease is released."""
        with self._lock:
            if self._engine is None:
                self._engine = EngineHolder(pack, self._load)
                return _lease(self._engine.peek())
            engine = self._engine
        return _lease(engine.swap(pack))

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


def fingerprint(rules_dir: str) -> tuple[tuple[str, int, int], ...]:
    """Cheap change detector for the optional watcher: (path, size, mtime_ns) of every file."""
    root = Path(rules_dir)
    out: list[tuple[str, int, int]] = []
    for path in sorted(root.rglob("*")):
        try:
            if path.is_file():
                stat = path.stat()
                out.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
        except OSError:
            continue
    return tuple(out)


class RulesWatcher(threading.Thread):
    """Optional (off by default): reloads the pack when a file under the rules directory changes."""

    def __init__(self, reload: Callable[[], None], rules_dir: str, interval: float) -> None:
        super().__init__(name="riskrules-rules-watcher", daemon=True)
        self._reload = reload
        self._rules_dir = rules_dir
        self._interval = interval
        self._stop_event = threading.Event()
        # Taken now, not when the thread first runs: a change made in between must count.
        self._baseline = fingerprint(rules_dir)

    def run(self) -> None:
        last = self._baseline
        while not self._stop_event.wait(self._interval):
            now = fingerprint(self._rules_dir)
            if now != last:
                last = now
                try:
                    self._reload()
                except Exception as error:  # the old pack keeps serving; the log says why
                    log.error("rule pack changed on disk but did not reload: %s", error)

    def stop(self) -> None:
        self._stop_event.set()
