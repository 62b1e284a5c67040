"""SIGHUP to a real `riskrules serve` with a broken pack, then a broken keys file: the master
refuses, the same workers keep serving, a worker started meanwhile serves the last good pack
and keys, and the server never exits (issue 14, items 1 and 2)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from loadkit.server import ROOT, Server, serving
from loadkit.workload import examples, proposal_body

pytestmark = pytest.mark.slow


def _wait_log(server: Server, text: str, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while server.log_text().count(text) < count:
        assert time.monotonic() < deadline, server.log_text()[-3000:]
        time.sleep(0.05)


def _post(server: Server, ref: str) -> int:
    body = proposal_body(examples()[0], ref)
    return server.call("POST", "/v1/assessments", body)[0]


def test_sighup_with_broken_files_keeps_the_last_good_ones(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(ROOT / "rules", pack)
    knockouts = pack / "knockouts.yaml"
    original = knockouts.read_text()
    with serving("sqlite", rules=pack, directory=tmp_path) as server:
        digest = server.json("GET", "/v1/ruleset", role="auditor")[1]["digest"]
        workers = server.worker_pids()
        # 1. the pack of the issue: `kind: knockoutt`
        knockouts.write_text(original.replace("kind: knockout", "kind: knockoutt", 1))
        os.kill(server.master_pid, signal.SIGHUP)
        _wait_log(server, "SIGHUP refused", 1)
        assert server.alive() and server.worker_pids() == workers
        status, _, raw = server.call("GET", "/readyz", role=None)
        ready = json.loads(raw)
        assert status == 200 and any("refused (pack)" in w for w in ready["warnings"])
        assert "knockouts.yaml" in " ".join(ready["warnings"])
        metrics = server.call("GET", "/metrics", role=None)[2].decode()
        assert 'riskrules_sighup_refused{what="pack"} 1.0' in metrics
        assert _post(server, "HUP-1") == 201
        # a worker started while the file is broken (killed, recycled) serves the last good pack
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        server.wait_workers(2, exclude={victim})
        for i in range(6):  # both workers answer some of these
            assert _post(server, f"HUP-2-{i}") == 201
            assert server.json("GET", "/v1/ruleset", role="auditor")[1]["digest"] == digest
        # 2. an empty keys file: refused too, and the server does not exit
        keys_text = server.keys.file.read_text()
        server.keys.file.write_text("")
        workers = server.worker_pids()
        os.kill(server.master_pid, signal.SIGHUP)
        _wait_log(server, "SIGHUP refused", 3)  # pack and keys, both named
        assert server.alive() and server.worker_pids() == workers
        assert server.call("GET", "/v1/ruleset", role="auditor")[0] == 200
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)  # before: "Worker failed to boot", the master exited
        server.wait_workers(2, exclude={victim})
        for i in range(6):
            assert server.call("GET", "/v1/ruleset", role="auditor")[0] == 200
            assert _post(server, f"HUP-3-{i}") == 201
        assert server.alive()
        # 3. both fixed: the next SIGHUP replaces every worker, and the warnings go
        knockouts.write_text(original)
        server.keys.file.write_text(keys_text)
        workers = server.worker_pids()
        os.kill(server.master_pid, signal.SIGHUP)
        server.wait_workers(2, exclude=workers)
        status, _, raw = server.call("GET", "/readyz", role=None)
        assert status == 200 and "warnings" not in json.loads(raw)
        assert "SIGHUP accepted" in server.log_text()
        # every line of the server log is JSON, gunicorn's own included; the start-up lines
        # name the pack, its digest, the lists with their as-of dates, and the database
        docs = [json.loads(line) for line in server.log_text().splitlines() if line.strip()]
        assert any(d["logger"] == "gunicorn.error" and "Booting worker" in d["message"]
                   for d in docs)
        start = next(d for d in docs if d.get("lists"))
        assert start["digest"] == digest and start["pack"] and start["pack_version"]
        assert all(isinstance(day, str) for day in start["lists"].values())
        assert start["lists"] and start["watchlists"]
        assert any(d.get("database", "").startswith("sqlite:///") for d in docs)
