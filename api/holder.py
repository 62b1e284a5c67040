"""The current rule pack of one worker: leases for evaluations, atomic swap on reload.

A reload loads the new pack first (a pack that fails keeps the old one serving), swaps the
reference under a lock, and closes the old pack only when the last evaluation that leased it
has finished (reference counting), so no request ever sees a closed durable_rules ruleset.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.errors import NotReady

log = logging.getLogger("riskrules.api")

PackLoader = Callable[[str], Any]


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Entry:
    pack: Any
    loaded_at: str
    refs: int = 0
    retired: bool = False
    closed: bool = field(default=False, repr=False)


@dataclass(frozen=True)
class Lease:
    """A pack that stays open while the lease is held."""

    pack: Any
    loaded_at: str


class PackHolder:
    """Holds the current pack; thread-safe."""

    def __init__(self, loader: PackLoader, rules_dir: str) -> None:
        self._loader = loader
        self.rules_dir = rules_dir
        self._lock = threading.Lock()
        self._current: _Entry | None = None
        self.load_error: Exception | None = None

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def current(self) -> Lease | None:
        """The current pack, unleased (for read-only metadata such as /v1/ruleset)."""
        entry = self._current
        return None if entry is None else Lease(entry.pack, entry.loaded_at)

    @contextmanager
    def lease(self) -> Iterator[Lease]:
        """Hold the current pack for one evaluation (or batch); 503 when none is loaded."""
        with self._lock:
            entry = self._current
            if entry is None:
                raise NotReady("no valid rule pack is loaded; see the server log and /readyz")
            entry.refs += 1
        try:
            yield Lease(entry.pack, entry.loaded_at)
        finally:
            self._release(entry)

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.refs -= 1
            close = entry.retired and entry.refs == 0 and not entry.closed
            if close:
                entry.closed = True
        if close:
            self._close(entry)

    def _close(self, entry: _Entry) -> None:
        try:
            entry.pack.close()
        except Exception:  # a failing close must not fail the request that released it
            log.exception("closing the previous rule pack failed")

    def load(self) -> Lease:
        """Load the pack from `rules_dir` and make it current; raises PackError (old one stays)."""
        pack = self._loader(self.rules_dir)
        return self.swap(pack)

    def try_initial_load(self) -> None:
        """Load at start; a failure is remembered (readyz says 503) instead of raised."""
        try:
            self.load()
            self.load_error = None
        except Exception as error:
            self.load_error = error
            log.error("rule pack at %s did not load: %s", self.rules_dir, error)

    def swap(self, pack: Any) -> Lease:
        """Make `pack` current; the previous pack closes once its last lease is released."""
        new = _Entry(pack, utc_now_text())
        with self._lock:
            old, self._current = self._current, new
            close_now = False
            if old is not None:
                old.retired = True
                close_now = old.refs == 0 and not old.closed
                if close_now:
                    old.closed = True
        if old is not None and close_now:
            self._close(old)
        return Lease(new.pack, new.loaded_at)

    def close(self) -> None:
        with self._lock:
            old, self._current = self._current, None
            close_now = False
            if old is not None:
                old.retired = True
                close_now = old.refs == 0 and not old.closed
                if close_now:
                    old.closed = True
        if old is not None and close_now:
            self._close(old)


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
