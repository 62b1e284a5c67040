"""The pack a process serves, swapped atomically on reload: leases for evaluations, deferred close.

A service keeps scoring while its rule pack is replaced. `reload` loads the new pack beside
the running one (a pack that fails to load raises PackError and the old one keeps serving),
then swaps the reference under a lock. Every evaluation holds a lease on the pack it started
with, so it finishes on that pack; the old pack's durable_rules ruleset is closed when its
last lease is released, never under a running evaluation.

A holder may start empty (`PackHolder(None, loader)`: a service that starts without a valid
pack and answers "not ready" until one loads); leasing from an empty or closed holder raises
`NoPack`. This is the one holder of the code base: the API and the CLI use it as it is.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast, overload

from engine.errors import NoPack
from engine.pack import Pack, load_pack

log = logging.getLogger("riskrules.engine")


class Closeable(Protocol):
    """What the holder needs of a pack: a way to free it once nobody uses it."""

    def close(self) -> None: ...


P = TypeVar("P", bound=Closeable)


@dataclass(frozen=True)
class Lease(Generic[P]):
    """A pack that stays open while the lease is held, with when and as what it was installed."""

    pack: P
    installed_at: dt.datetime
    generation: int


class _Entry(Generic[P]):
    """One installed pack and its reference count (guarded by the holder's lock)."""

    __slots__ = ("closed", "lease", "refs", "retired")

    def __init__(self, lease: Lease[P]) -> None:
        self.lease = lease
        self.refs = 0
        self.retired = False
        self.closed = False

    def take_close(self) -> bool:
        """True exactly once, when the entry is retired and unleased: the caller closes it."""
        if self.retired and self.refs == 0 and not self.closed:
            self.closed = True
            return True
        return False


def settle_heap(*, replacing: bool) -> None:
    """Move everything alive now (the pack just installed: its screening index holds millions
    of objects) out of reach of the cyclic garbage collector, whose full collections would
    otherwise walk the index again and again (tens of milliseconds each, the screening p99).

    When a pack replaces another, unfreezing first lets the collector free what the old one
    left in cycles. The first pack of a process is not unfrozen: in a gunicorn worker the
    index may have been inherited, frozen, from the master (engine.pack.warm_screening), and
    a collection walking it would copy every page the workers share."""
    if replacing:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


class PackHolder(Generic[P]):
    """Holds the current pack of a process; thread-safe.

    `PackHolder(pack)` serves a pack loaded with `load_pack`; `PackHolder(pack, loader)` serves
    any closeable object that `loader(path)` builds (tests use stand-ins); with `pack` None the
    holder starts empty, until the first `load` or `swap`.
    """

    @overload
    def __init__(self: PackHolder[Pack], pack: Pack) -> None: ...

    @overload
    def __init__(self, pack: P | None, loader: Callable[[str | Path], P]) -> None: ...

    def __init__(self, pack: Any, loader: Callable[[str | Path], Any] | None = None) -> None:
        # Typed by the overloads: P is Pack exactly when the default loader is used.
        self._loader: Callable[[str | Path], P] = loader if loader is not None else \
            cast("Callable[[str | Path], P]", load_pack)
        self._lock = threading.Lock()
        # Serialises reloads (not evaluations): a slow load that started first must not
        # replace a newer pack by finishing last.
        self._reload_lock = threading.Lock()
        self._generation = 0
        self._closed = False
        self._current: _Entry[P] | None = None if pack is None else self._entry(pack)

    def _entry(self, pack: P) -> _Entry[P]:
        self._generation += 1
        settle_heap(replacing=self._generation > 1)
        return _Entry(Lease(pack, dt.datetime.now(dt.UTC), self._generation))

    # -- reading -----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def installed(self) -> Lease[P] | None:
        """The current pack without a lease, None when there is none (empty or closed): for
        metadata only (name, digest, rules), never for an evaluation, since the pack may be
        closed as soon as it is replaced."""
        entry = self._current
        return None if entry is None else entry.lease

    def peek(self) -> Lease[P]:
        """`installed`, raising NoPack when there is no pack."""
        lease = self.installed()
        if lease is None:
            raise NoPack(self._no_pack())
        return lease

    def _no_pack(self) -> str:
        return "the pack holder was closed" if self._closed else "no rule pack is loaded"

    @contextmanager
    def current(self) -> Iterator[Lease[P]]:
        """Lease the current pack for one evaluation (or one batch): it stays open, and is the
        pack used, until the block ends, whatever reloads happen meanwhile."""
        with self._lock:
            entry = self._current
            if entry is None:
                raise NoPack(self._no_pack())
            entry.refs += 1
        try:
            yield entry.lease
        finally:
            with self._lock:
                entry.refs -= 1
                close = entry.take_close()
            if close:
                self._close(entry)

    # -- replacing ---------------------------------------------------------------------------
    def reload(self, path: str | Path) -> P:
        """Load the pack at `path` beside the running one and swap it in; returns the new pack.

        A pack that fails to load raises (PackError) before anything changes: the old pack
        keeps serving."""
        return self.load(path).pack

    def load(self, path: str | Path) -> Lease[P]:
        """`reload`, answering with the new pack's (unleased) lease: its install time and
        generation describe exactly the pack this call installed, even if another reload
        follows at once."""
        with self._reload_lock:
            if self._closed:
                raise NoPack(self._no_pack())
            pack = self._loader(path)
            try:
                return self.swap(pack)
            except BaseException:
                self._close_quietly(pack)
                raise

    def swap(self, pack: P) -> Lease[P]:
        """Make an already loaded `pack` current; the previous one is closed once its last
        lease is released (at once when none is held)."""
        with self._lock:
            if self._closed:
                raise NoPack(self._no_pack())
            old = self._current
            if old is not None and old.lease.pack is pack:
                return old.lease
            new = self._entry(pack)
            self._current = new
            close = False
            if old is not None:
                old.retired = True
                close = old.take_close()
        if old is not None and close:
            self._close(old)
        return new.lease

    def close(self) -> None:
        """Stop serving: the current pack is closed once its last lease is released; later
        calls to `current`, `reload` and `swap` raise NoPack. Idempotent."""
        with self._lock:
            self._closed = True
            old, self._current = self._current, None
            close = False
            if old is not None:
                old.retired = True
                close = old.take_close()
        if old is not None and close:
            self._close(old)

    def _close(self, entry: _Entry[P]) -> None:
        log.debug("closing rule pack generation %d", entry.lease.generation)
        self._close_quietly(entry.lease.pack)

    @staticmethod
    def _close_quietly(pack: P) -> None:
        try:
            pack.close()
        except Exception:  # a failing close must not fail the evaluation that released it
            log.exception("closing a replaced rule pack failed")
