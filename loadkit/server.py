"""A real `riskrules serve` (gunicorn) on a free loopback port: keys, database, start, stop.

Why a subprocess and not the Flask test client: the properties under test (no lost writes when
a worker dies, graceful replacement on reload, one pool per worker) only exist with gunicorn's
master and forked workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.auth import ApiKey, append_key, generate_key, hash_key
from api.store import Store, normalise_url

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
READY_TIMEOUT = 60.0


def free_port() -> int:
    """A port nobody listens on now (loopback only)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children(parent: int) -> set[int]:
    """Processes whose parent is `parent` (from /proc)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.add(int(entry.name))
    return found


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU time consumed so far by these processes (0 for vanished ones)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Keys:
    """One key per role (submitter, auditor, admin) in a keys file of hashes."""

    file: Path
    tokens: dict[str, str]

    @classmethod
    def create(cls, directory: Path) -> Keys:
        path = directory / "keys.yaml"
        tokens = {role: generate_key() for role in ("submitter", "auditor", "admin")}
        for role, token in tokens.items():
            append_key(str(path), ApiKey(f"bench-{role}", hash_key(token), frozenset({role})))
        return cls(path, tokens)

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@dataclass
class Database:
    """A database URL for one run and how to throw it away afterwards."""

    url: str
    kind: str
    schema: str | None = None
    admin_url: str | None = None

    def count(self) -> int:
        """Stored assessments, read directly (not through the API)."""
        store = Store(self.url)
        try:
            return store.count()
        finally:
            store.close()

    def through(self, host: str, port: int) -> str:
        """The same database reached through another address (the fault proxy)."""
        url = sa.engine.make_url(normalise_url(self.url)).set(host=host, port=port)
        return url.render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.kind == "postgresql" and self.schema and self.admin_url:
            engine = sa.create_engine(self.admin_url)
            try:
                with engine.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            finally:
                engine.dispose()


def sqlite_database(directory: Path) -> Database:
    return Database(f"sqlite:///{directory / 'load.sqlite3'}", "sqlite")


def postgres_database(base: str = DEFAULT_POSTGRES) -> Database:
    """A fresh, empty schema in the given PostgreSQL database (dropped by `drop`)."""
    admin_url = normalise_url(base)
    schema = f"rr_load_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    sep = "&" if "?" in admin_url else "?"
    return Database(f"{admin_url}{sep}options=-csearch_path%3D{schema}", "postgresql",
                    schema, admin_url)


def make_database(kind: str, directory: Path, postgres_url: str = DEFAULT_POSTGRES) -> Database:
    if kind == "sqlite":
        return sqlite_database(directory)
    if kind == "postgresql":
        return postgres_database(postgres_url)
    raise ValueError(f"unknown database kind {kind!r}")


@dataclass
class Server:
    """A running `riskrules serve`; `stop()` ends it (SIGTERM, then SIGKILL after 30 s)."""

    base: str
    port: int
    process: subprocess.Popen[bytes]
    keys: Keys
    log: Path
    database: Database
    rules: Path

    @property
    def master_pid(self) -> int:
        return self.process.pid

    def call(self, method: str, path: str, body: Any = None, role: str | None = "submitter",
             headers: Mapping[str, str] | None = None,
             timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection (for set-up and checks, not for load)."""
        data = None if body is None else (
            body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if role is not None:
            for name, value in self.keys.bearer(role).items():
                request.add_header(name, value)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method: str, path: str, body: Any = None,
             role: str | None = "submitter") -> tuple[int, Any]:
        status, _, raw = self.call(method, path, body, role)
        return status, json.loads(raw) if raw else None

    def worker_pids(self) -> set[int]:
        """The gunicorn workers: processes whose parent is the master."""
        return children(self.master_pid)

    def wait_workers(self, count: int, exclude: set[int] | None = None,
                     timeout: float = 30.0) -> set[int]:
        """Wait until `count` workers run (none of them in `exclude`)."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.worker_pids()
            if len(pids) >= count and not (pids & (exclude or set())):
                return pids
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers {pids} after {timeout} s (want {count}, "
                                   f"without {exclude})")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(directory: Path, database: Database, *, workers: int = 2,
                 rules: Path | None = None, database_url: str | None = None,
                 env: Mapping[str, str] | None = None, keys: Keys | None = None,
                 ready_path: str = "/readyz") -> Server:
    """Start `riskrules serve` and wait until `ready_path` answers 200 (/healthz for a server
    that is up but, by design of the run, not ready: a read-only store).

    The per-key rate limit is switched off (RISKRULES_RATE_LIMIT_RPS=0): these runs measure
    the service, not the limiter, and every request comes from one key.
    """
    keys = keys or Keys.create(directory)
    rules = rules or ROOT / "rules"
    port = free_port()
    log = directory / f"server-{port}.log"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "RISKRULES_RATE_LIMIT_RPS": "0",
                   **(env or {})}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "--rules", str(rules), "serve",
             "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
             "--database-url", database_url or database.url, "--keys-file", str(keys.file)],
            cwd=directory, env=environment, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", port, process, keys, log, database, rules)
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n"
                                   f"{server.log_text()[-4000:]}")
            with contextlib.suppress(OSError):
                if server.call("GET", ready_path, role=None, timeout=5)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {READY_TIMEOUT} s:\n"
                                   f"{server.log_text()[-4000:]}")
            time.sleep(0.1)
        server.wait_workers(workers)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def serving(kind: str = "sqlite", *, workers: int = 2, rules: Path | None = None,
            directory: Path | None = None, postgres_url: str = DEFAULT_POSTGRES,
            env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """A server on a fresh database in a temporary directory; everything removed afterwards."""
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rr-load-")))
        database = make_database(kind, directory, postgres_url)
        stack.callback(database.drop)
        server = start_server(directory, database, workers=workers, rules=rules, env=env)
        stack.callback(server.stop)
        yield server
