"""The same key scenarios against a real `riskrules serve` (gunicorn, 2 workers) on a free port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.auth import ApiKey, append_key, generate_key, hash_key
from loadkit.server import Database, free_port, postgres_database, sqlite_database
from tests.api.support import PACK_DIR, PG_ENV, proposal

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    keys: dict[str, str]
    log: Path

    def call(self, method: str, path: str, body: Any = None, key: str | None = "all",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if key is not None:
            request.add_header("Authorization", f"Bearer {self.keys[key]}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                status, head = response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            raw, status, head = error.read(), error.code, dict(error.headers)
        ctype = head.get("Content-Type", "")
        return status, head, json.loads(raw) if "json" in ctype else raw.decode()


def _database(kind: str, tmp: Path) -> Database:
    if kind == "sqlite":
        return sqlite_database(tmp)
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    return postgres_database(base)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve")
    database = _database(request.param, tmp)
    url = database.url
    keys = {"all": generate_key(), "auditor": generate_key()}
    keys_file = tmp / "keys.yaml"
    append_key(str(keys_file), ApiKey("all", hash_key(keys["all"]),
                                      frozenset({"submitter", "auditor", "admin"})))
    append_key(str(keys_file), ApiKey("auditor", hash_key(keys["auditor"]),
                                      frozenset({"auditor"})))
    port = free_port()
    log = tmp / "server.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "--rules", str(PACK_DIR), "serve",
             "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--database-url", url, "--keys-file", str(keys_file)],
            cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    srv = Server(f"http://127.0.0.1:{port}", process, keys, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
            try:
                if srv.call("GET", "/readyz", key=None)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready in 30 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield srv
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        database.drop()


def test_score_read_back_and_roles(server: Server) -> None:
    status, head, doc = server.call("POST", "/v1/assessments", proposal("RU", reference="S-1"))
    assert status == 201 and doc["decision"] == "escalate"
    assert head["Location"] == f"/v1/assessments/{doc['id']}"
    status, _, again = server.call("GET", head["Location"], key="auditor")
    assert status == 200 and again == doc
    status, head, problem = server.call("POST", "/v1/assessments", proposal(), key=None)
    assert status == 401 and head["WWW-Authenticate"].startswith("Bearer")
    assert head["Content-Type"] == "application/problem+json" and problem["status"] == 401
    status, _, problem = server.call("POST", "/v1/assessments", proposal(), key="auditor")
    assert status == 403
    bad = proposal()
    bad["counterparties"][0]["colour"] = "red"
    status, _, problem = server.call("POST", "/v1/assessments", bad)
    assert status == 422 and problem["errors"][0]["path"] == "counterparties[0].colour"


def test_concurrent_duplicates_store_exactly_one_record(server: Server) -> None:
    reference = f"IDEM-{uuid.uuid4().hex[:8]}"
    body = proposal("CN", reference=reference)
    barrier = threading.Barrier(8)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def submit() -> None:
        barrier.wait()
        status, _, doc = server.call("POST", "/v1/assessments", body,
                                     headers={"Idempotency-Key": reference})
        with lock:
            results.append((status, doc.get("id", "")))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    statuses = sorted(status for status, _ in results)
    assert len(results) == 8 and set(statuses) <= {200, 201} and statuses.count(201) == 1
    assert len({assessment_id for _, assessment_id in results}) == 1
    status, _, page = server.call("GET", f"/v1/assessments?reference={reference}",
                                  key="auditor")
    assert status == 200 and len(page["items"]) == 1


def test_concurrent_duplicate_batches_store_one_batch(server: Server) -> None:
    """8 clients send the same batch with one Idempotency-Key at once, to 2 workers: the batch
    is stored once (the unique index decides), every answer carries the same results."""
    reference = f"IDEMB-{uuid.uuid4().hex[:8]}"
    bad = proposal(reference=f"{reference}-bad")
    bad["title"] = ""
    body = {"proposals": [proposal("CN", reference=reference), bad,
                          proposal("KP", reference=reference)]}
    barrier = threading.Barrier(8)
    results: list[tuple[int, bool, str]] = []
    lock = threading.Lock()

    def submit() -> None:
        barrier.wait()
        status, head, doc = server.call("POST", "/v1/assessments:batch", body,
                                        headers={"Idempotency-Key": reference})
        with lock:
            results.append((status, head.get("Idempotent-Replayed") == "true",
                            json.dumps(doc, sort_keys=True)))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 8 and {status for status, _, _ in results} == {200}
    assert sum(1 for _, replayed, _ in results if not replayed) == 1
    assert len({doc for _, _, doc in results}) == 1
    status, _, page = server.call("GET", f"/v1/assessments?reference={reference}",
                                  key="auditor")
    assert status == 200 and len(page["items"]) == 2


def test_metrics_aggregate_every_worker(server: Server) -> None:
    for _ in range(6):
        assert server.call("GET", "/healthz", key=None)[0] == 200
    status, _, text = server.call("GET", "/metrics", key=None)
    assert status == 200
    line = next(line for line in text.splitlines() if line.startswith(
        'riskrules_http_requests_total{method="GET",route="/healthz",status="200"}'))
    assert float(line.rsplit(" ", 1)[1]) >= 6
    pids = {part for part in text.split() if part.startswith("riskrules_ruleset_info{")}
    assert pids, text[:500]


def test_reload_restarts_every_worker_and_keeps_serving(server: Server) -> None:
    exits_before = server.log.read_text().count("Worker exiting")
    status, _, doc = server.call("POST", "/v1/ruleset:reload")
    assert status == 200 and doc["scope"] == "all-workers"
    deadline = time.monotonic() + 20
    # Wait until both old workers have gone: what they leave behind must not hurt the new ones
    # (an exiting worker once removed the shared metrics directory).
    while server.log.read_text().count("Worker exiting") < exits_before + 2:
        assert time.monotonic() < deadline, server.log.read_text()[-3000:]
        time.sleep(0.1)
    assert server.call("GET", "/readyz", key=None)[0] == 200
    status, _, scored = server.call("POST", "/v1/assessments", proposal("RU", reference="new"))
    assert status == 201 and scored["ruleset"]["digest"] == doc["ruleset"]["digest"]
    assert server.call("GET", "/metrics", key=None)[0] == 200
    assert "Handling signal: hup" in server.log.read_text().lower() or \
        "hang up" in server.log.read_text().lower()
