"""A small closed-loop HTTP load generator: threads, one keep-alive http.client connection each.

Pure standard library so it runs on a fresh machine. Each thread takes the next call from a
shared list and sends it; on a connection error (a worker killed mid-request, a reset) it
reconnects and, if the call allows it, sends it again. Every call's final status, body,
headers, latency and attempt count are kept for the checks.
"""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

NOT_SENT = -1  # the run's time limit came first
NO_RESPONSE = 0  # connection errors on every attempt


@dataclass(frozen=True)
class Call:
    """One request of a run. `retry` allows resending after a connection error (idempotent)."""

    method: str
    path: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry: bool = False
    tag: str = ""
    key: str | None = None  # Idempotency-Key, also sent as a header


@dataclass(eq=False)  # hashed by identity: checks key dictionaries on outcomes
class Outcome:
    call: Call
    status: int = NOT_SENT
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0  # seconds, last attempt
    started: float = 0.0  # seconds since the start of the run
    attempts: int = 0
    errors: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class LoadRun:
    """Send `calls` with `concurrency` threads; `start()` then `join()`, or `run()`.

    `completed` counts finished calls while the run goes on, so fault injectors can act at a
    chosen point; `time_limit` bounds the run (calls not started by then stay NOT_SENT);
    `backoff(outcome)` is how long a thread waits after that answer (a client backing off
    after a 503).
    """

    def __init__(self, base: str, calls: Sequence[Call], concurrency: int, *,
                 time_limit: float = 300.0, timeout: float = 60.0, max_attempts: int = 6,
                 default_headers: Mapping[str, str] | None = None,
                 on_response: Callable[[Outcome], None] | None = None,
                 backoff: Callable[[Outcome], float] | None = None) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.calls = list(calls)
        self.outcomes = [Outcome(call) for call in self.calls]
        self.concurrency = max(1, min(concurrency, len(self.calls) or 1))
        self.time_limit = time_limit
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.default_headers = dict(default_headers or {})
        self.on_response = on_response
        self.backoff = backoff
        self.completed = 0
        self.wall = 0.0
        self._next = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._t0 = 0.0
        self._stop = threading.Event()

    def start(self) -> LoadRun:
        self._t0 = time.perf_counter()
        self._threads = [threading.Thread(target=self._worker, name=f"load-{i}", daemon=True)
                         for i in range(self.concurrency)]
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> LoadRun:
        for thread in self._threads:
            thread.join(self.time_limit + self.timeout * self.max_attempts + 5)
        self.wall = time.perf_counter() - self._t0
        return self

    def run(self) -> LoadRun:
        return self.start().join()

    def stop(self) -> None:
        """No new calls are started after this."""
        self._stop.set()

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self.calls) or self._stop.is_set() or \
                    self.elapsed() > self.time_limit:
                return None
            index = self._next
            self._next += 1
            return index

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _worker(self) -> None:
        conn = self._connection()
        try:
            while (index := self._take()) is not None:
                outcome = self.outcomes[index]
                outcome.started = self.elapsed()
                conn = self._send(conn, outcome)
                with self._lock:
                    self.completed += 1
                if self.on_response is not None:
                    self.on_response(outcome)
                if self.backoff is not None and (pause := self.backoff(outcome)) > 0:
                    time.sleep(pause)
        finally:
            conn.close()

    def _send(self, conn: http.client.HTTPConnection,
              outcome: Outcome) -> http.client.HTTPConnection:
        call = outcome.call
        headers = {**self.default_headers, **call.headers}
        if call.body is not None:
            headers.setdefault("Content-Type", "application/json")
        if call.key is not None:
            headers["Idempotency-Key"] = call.key
        while True:
            outcome.attempts += 1
            began = time.perf_counter()
            try:
                conn.request(call.method, call.path, body=call.body, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                outcome.latency = time.perf_counter() - began
                outcome.errors.append(f"{type(error).__name__}: {error}")
                conn.close()
                conn = self._connection()
                if not call.retry or outcome.attempts >= self.max_attempts:
                    outcome.status = NO_RESPONSE
                    return conn
                time.sleep(min(0.05 * 2 ** (outcome.attempts - 1), 1.0))
                continue
            outcome.latency = time.perf_counter() - began
            outcome.status = response.status
            outcome.body = body
            outcome.headers = dict(response.getheaders())
            if response.will_close:
                conn.close()
            return conn


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Summary:
    """Throughput and latency of one run (latencies of answered calls, in milliseconds)."""

    sent: int
    answered: int
    wall: float
    throughput: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]

    def line(self) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items())
                          if code != NOT_SENT)
        return (f"{self.answered}/{self.sent} answered in {self.wall:.2f} s: "
                f"{self.throughput:.1f} req/s, p50 {self.p50_ms:.1f} ms, "
                f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms [{codes}]")


def summarise(run: LoadRun) -> Summary:
    answered = [o for o in run.outcomes if o.status > 0]
    latencies = [o.latency * 1000 for o in answered]
    statuses: dict[int, int] = {}
    for outcome in run.outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    wall = run.wall or 1e-9
    return Summary(sent=sum(1 for o in run.outcomes if o.status != NOT_SENT),
                   answered=len(answered), wall=wall, throughput=len(answered) / wall,
                   p50_ms=percentile(latencies, 50), p99_ms=percentile(latencies, 99),
                   max_ms=max(latencies, default=0.0), statuses=statuses)
