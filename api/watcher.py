"""The optional rules watcher (off by default): reloads the pack when a file of the rules
directory changes, and `fingerprint`, the cheap change detector it and the loader share.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("riskrules.api")


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
