"""Faults under load: a killed worker, the database cut off, pack reloads, a full or read-only disk.

Run: python benchmarks/faults.py [--scenario NAME ...] [--database sqlite|postgresql]
                                 [--requests N] [--concurrency C] [--workers W] [--kills K]

Scenarios (each a function returning a Report; all run by default, loopback only, bounded):

  kill_worker      kill -9 gunicorn workers in the middle of a load run; every request has an
                   Idempotency-Key and clients resend after a connection error. Every 201 is
                   stored, nothing twice, the master replaces each worker, the run goes on.
  database_outage  PostgreSQL through an in-process TCP proxy that is cut, then restored, mid-run
                   (the real server is never stopped): 503 problem documents while cut, never a
                   500 or a 201 without a record, 201 again once restored, same workers.
  database_stall   the same proxy stalled (open connections, nothing flows) for 8 s: requests
                   wait, then end in 201 or 503; no 500, nothing lost, 201 again after.
  pack_reload      a reload of a broken pack mid-load (422, the old pack keeps serving, nothing
                   fails), then a successful one (a weight changed): every assessment carries the
                   digest of the pack that scored it, checked by re-scoring each stored proposal
                   with both packs through engine.load_pack.
  disk_full        SQLite on a 16 MiB tmpfs filled up mid-run (needs root for `mount`): 503, batch
                   writes all-or-nothing, integrity_check ok, 201 again once space is freed.
  read_only        SQLite opened read-only (`?mode=ro`, which binds root too): writes 503, reads
                   of earlier records still 200 and identical, nothing written.
  sighup_broken_pack  `kind: knockoutt` in knockouts.yaml mid-load, SIGHUP twice: refused, same
                   workers, /readyz warns, metric set; repaired, SIGHUP: workers replaced. Every
                   request a 201 at first attempt, all on the same digest.
  sighup_broken_keys  the same with an empty keys file, then a YAML error in it.
  slow_client      10 connections trickling headers and 5 trickling bodies during the load:
                   /healthz under 1 s, every request a 201 at first attempt
                   (`--worker-class sync` shows the old workers failing it).

Exit status 1 if any property failed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from loadkit.client import NOT_SENT, Call, LoadRun, Outcome
from loadkit.proxy import TcpProxy
from loadkit.server import (
    DEFAULT_POSTGRES,
    ROOT,
    Database,
    Keys,
    Server,
    postgres_database,
    serving,
    start_server,
)
from loadkit.verify import (
    Report,
    assessment_id,
    body_json,
    check_records,
    check_statuses,
    describe_run,
    is_problem,
    read_back,
)
from loadkit.workload import (
    examples,
    plain_calls,
    proposal_body,
    run_id,
)

STORE_DOWN = "RR700"
SETTLE = 0.5  # seconds after the database returns by which every new request must succeed


# Calls prepared for a run with reloads, per request asked for: the run stops once enough
# answers came from the replaced workers, but must not run out before. Ten was too few once
# an assessment got faster: 800 calls were all answered by the old workers in 7 s while the
# pack was checked twice and the workers were replaced (3.3 s).
RELOAD_BUDGET = 50


def _wait_completed(run: LoadRun, count: int, timeout: float = 300.0) -> None:
    """Block until `count` calls of the run have finished (or the run has ended)."""
    deadline = time.monotonic() + timeout
    while run.completed < count and run.running():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{run.completed} of {count} calls after {timeout} s")
        time.sleep(0.005)


def _sent(run: LoadRun) -> list[Outcome]:
    return [o for o in run.outcomes if o.status != NOT_SENT]


def _resend(server: Server, outcomes: Sequence[Outcome], concurrency: int) -> LoadRun:
    """Send the same calls again (same bytes, same Idempotency-Key): a client retrying later."""
    return LoadRun(server.base, [o.call for o in outcomes], concurrency,
                   default_headers=server.keys.bearer("submitter")).run()


# -- kill -9 a worker ---------------------------------------------------------------------------

def kill_worker(*, database: str = "sqlite", requests: int = 1500, concurrency: int = 6,
                workers: int = 2, kills: int = 2,
                postgres_url: str = DEFAULT_POSTGRES) -> Report:
    """SIGKILL a random worker at each of `kills` evenly spaced points of the run.

    About `requests` calls: the run stops once requests // 4 were answered after the last
    replacement worker came up (so the run is seen going on), at most 3 × `requests`.
    """
    report = Report(f"kill_worker ({database}, {workers} workers, {concurrency} clients, "
                    f"{kills} kills)")
    calls = plain_calls(3 * requests, f"KILL-{run_id()}", idempotent=True, retry=True)
    chooser = random.Random(7)
    with serving(database, workers=workers, postgres_url=postgres_url) as server:
        master = server.master_pid
        run = LoadRun(server.base, calls, concurrency,
                      default_headers=server.keys.bearer("submitter")).start()
        killed: list[int] = []
        replaced: list[list[int]] = []
        for j in range(kills):
            _wait_completed(run, (3 * requests // 4) * (j + 1) // kills)
            before = server.worker_pids()
            victim = chooser.choice(sorted(before))
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            after = server.wait_workers(workers, exclude={victim})
            replaced.append(sorted(after - before))
        last_replacement = run.elapsed()
        _wait_completed(run, run.completed + requests // 4)
        run.stop()
        run.join()
        outcomes = _sent(run)
        describe_run(report, run)
        report.facts["killed workers"] = killed
        report.facts["replacement workers"] = replaced
        report.check(server.alive() and server.master_pid == master, "the master died")
        report.check(all(replaced), "a killed worker was not replaced")
        report.check(all(o.status > 0 for o in outcomes),
                     "some requests got no answer even after retries")
        check_statuses(report, outcomes, {200, 201})
        errors = [o for o in outcomes if o.errors]
        landed = [o for o in errors if o.status == 200]
        report.facts["requests that met a connection error"] = len(errors)
        report.facts["... whose first attempt had been stored (replayed on retry)"] = len(landed)
        after_kill = [o for o in outcomes if o.started > last_replacement]
        report.facts["requests answered after the last replacement"] = sum(
            1 for o in after_kill if o.status in (200, 201))
        report.check(bool(after_kill) and all(o.status in (200, 201) for o in after_kill),
                     "the run did not go on after the workers were replaced")
        check_records(report, server, outcomes, concurrency=concurrency)
        keys = {o.call.key for o in outcomes}
        stored = server.database.count()
        report.check(stored == len(keys), f"{stored} records for {len(keys)} idempotency keys")
    return report


# -- PostgreSQL unreachable ---------------------------------------------------------------------

def _probe(server: Server, path: str, timeout: float = 3.0) -> str:
    """Status of an unauthenticated GET, or why there was none (a probe as Kubernetes sends)."""
    try:
        return str(server.call("GET", path, role=None, timeout=timeout)[0])
    except OSError as error:
        return f"no answer ({type(error).__name__})"


def database_outage(*, requests: int = 2000, concurrency: int = 6, workers: int = 2,
                    outage: float = 3.0, mode: str = "cut",
                    postgres_url: str = DEFAULT_POSTGRES) -> Report:
    """Break the service's only path to PostgreSQL for `outage` seconds, mid-run.

    mode "cut": connections reset, new ones refused (the database host is down): every request
    started meanwhile must get a 503 RR700 problem. mode "stall": connections stay open but
    nothing flows (a silent partition): requests wait, and end in a 201 or a 503 once the
    link returns or the 5 s connect timeout fires. In both, no 500, every 201 stored, 201
    again right after the restore, the same workers. `requests` // 4 are answered before the
    outage and as many (for at least 2 × SETTLE seconds) after; clients back off 50 ms after
    a 503 as a polite client would, so the run stays bounded (at most 3 × `requests`).
    """
    report = Report(f"database_outage/{mode} (postgresql via proxy, {workers} workers, "
                    f"{concurrency} clients, {outage:g} s)")
    from sqlalchemy.engine import make_url

    parsed = make_url(postgres_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
    database = postgres_database(postgres_url)
    calls = plain_calls(3 * requests, f"PG{mode.upper()}-{run_id()}", idempotent=True,
                        retry=True)
    with contextlib.ExitStack() as stack:
        stack.callback(proxy.close)
        stack.callback(database.drop)
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rr-fault-")))
        server = start_server(directory, database, workers=workers,
                              database_url=database.through("127.0.0.1", proxy.port))
        stack.callback(server.stop)
        workers_before = server.worker_pids()
        run = LoadRun(server.base, calls, concurrency,
                      default_headers=server.keys.bearer("submitter"),
                      backoff=lambda o: 0.05 if o.status == 503 else 0.0).start()
        _wait_completed(run, requests // 4)
        if mode == "cut":
            proxy.cut()
        elif mode == "stall":
            proxy.stall()
        else:
            raise ValueError(f"unknown mode {mode!r}")
        # taken once the proxy is cut, not before: on a loaded machine this thread can wait
        # tenths of a second for the GIL in between, and requests started meanwhile went
        # through (seen as "a request started while the database was cut off" got a 201)
        broken_at = run.elapsed()
        time.sleep(outage / 2)
        probes = {path: _probe(server, path) for path in ("/readyz", "/healthz")}
        time.sleep(max(0.0, broken_at + outage - run.elapsed()))
        restored_at = run.elapsed()
        proxy.restore()
        _wait_completed(run, run.completed + requests // 4)
        while run.running() and run.elapsed() < restored_at + 2 * SETTLE:
            time.sleep(0.01)
        run.stop()
        run.join()
        ready_up = _probe(server, "/readyz")
        outcomes = _sent(run)
        describe_run(report, run)
        report.facts["readyz during / after the outage"] = f"{probes['/readyz']} / {ready_up}"
        report.facts["healthz during the outage"] = probes["/healthz"]
        report.check(ready_up == "200", f"readyz {ready_up} after the restore")
        report.check(server.worker_pids() == workers_before and server.alive(),
                     "workers were restarted (the service must recover by itself)")
        check_statuses(report, outcomes, {200, 201, 503})
        failed = [o for o in outcomes if o.status == 503]
        report.facts["503 answers"] = len(failed)
        report.check(all(is_problem(o, 503) and body_json(o).get("code") == STORE_DOWN
                         for o in failed), "a 503 that is not an RR700 problem document")
        during = [o for o in outcomes if broken_at + 0.2 < o.started < restored_at - 0.2]
        report.facts["requests started during the outage: 201 / 503 / all"] = (
            f"{sum(1 for o in during if o.status == 201)} / "
            f"{sum(1 for o in during if o.status == 503)} / {len(during)}")
        if mode == "cut":
            report.check(probes["/readyz"] == "503", f"readyz {probes['/readyz']} while cut")
            report.check(bool(failed), "no request failed while the database was cut off")
            # Answered while the database was still cut off: it cannot have been stored, so
            # it must be a 503. A request that started during the cut but was answered after
            # the restore may succeed (it waited for a connection the proxy accepted late:
            # under load its accept loop lags, and threaded workers have more in flight).
            answered_during = [o for o in during if o.started + o.latency < restored_at]
            report.facts["... of which answered before the restore: 201 / 503"] = (
                f"{sum(1 for o in answered_during if o.status == 201)} / "
                f"{sum(1 for o in answered_during if o.status == 503)}")
            report.check(all(o.status == 503 for o in answered_during),
                         "a request answered while the database was cut off did not get 503")
        else:
            waited = [o.latency for o in outcomes if o.started < restored_at < o.started +
                      o.latency]
            report.facts["requests held across the restore"] = len(waited)
            report.facts["longest wait (s)"] = round(max(waited, default=0.0), 2)
        after = [o for o in outcomes if o.started > restored_at + SETTLE]
        report.facts[f"requests started > {SETTLE:g} s after the restore: 201 / all"] = (
            f"{sum(1 for o in after if o.status == 201)} / {len(after)}")
        report.check(bool(after) and all(o.status == 201 for o in after),
                     "requests did not succeed again after the database came back")
        first_ok = min((o.started for o in outcomes
                        if o.started > restored_at and o.status == 201), default=None)
        if first_ok is not None:
            report.facts["first 201 after the restore (s)"] = round(first_ok - restored_at, 3)
        # What a client does with a 503: send it again later, same key. Exactly one record
        # per key must result (a 200 replay here means the failed request's write had landed).
        again = _resend(server, failed, concurrency)
        report.facts["resent 503s: 201 / 200 replays"] = (
            f"{sum(1 for o in again.outcomes if o.status == 201)} / "
            f"{sum(1 for o in again.outcomes if o.status == 200)}")
        report.check(all(o.status in (200, 201) for o in again.outcomes),
                     "a resent request failed after the restore")
        final = [o for o in outcomes if o.status != 503] + again.outcomes
        check_records(report, server, final, concurrency=concurrency)
        keys = {o.call.key for o in outcomes}
        stored = database.count()
        report.check(stored == len(keys), f"{stored} records for {len(keys)} idempotency keys")
    return report


def database_stall(**options: Any) -> Report:
    """database_outage with mode "stall" (8 s by default: longer than the connect timeout)."""
    options.setdefault("outage", 8.0)
    return database_outage(mode="stall", **options)


# -- pack reloads -------------------------------------------------------------------------------

def _rescore(database: Database, packs: dict[str, Path], report: Report) -> None:
    """Re-score every stored proposal with each pack; the recorded digest's pack must match."""
    from api.service import dumps
    from api.store import Filters, Store
    from engine import load_pack

    loaded = {digest: load_pack(path) for digest, path in packs.items()}
    store = Store(database.url)
    checked = discriminating = mismatched = 0
    by_digest: dict[str, int] = {}
    try:
        for record in store.iter_all(Filters()):
            doc = record.assessment
            digest = doc["ruleset"]["digest"]
            by_digest[digest] = by_digest.get(digest, 0) + 1
            report.check(record.pack_digest == digest,
                         f"{record.id}: pack_digest column {record.pack_digest} != {digest}")
            created = dt.datetime.fromisoformat(doc["created_at"])
            outputs: dict[str, dict[str, Any]] = {}
            for name, pack in loaded.items():
                out = dict(pack.assess(record.proposal, created_at=created).to_dict())
                out["id"] = doc["id"]
                outputs[name] = out
            checked += 1
            scorer = outputs.get(digest)
            if scorer is None or dumps(scorer) != record.assessment_json:
                mismatched += 1
                continue
            others = [o for name, o in outputs.items() if name != digest]
            if any({**o, "ruleset": None} != {**doc, "ruleset": None} for o in others):
                discriminating += 1
    finally:
        store.close()
        for pack in loaded.values():
            pack.close()
    report.facts["stored assessments per pack digest"] = {
        d[7:19]: n for d, n in sorted(by_digest.items())}
    report.facts["re-scored: identical with the recorded pack"] = f"{checked - mismatched}/{checked}"
    report.facts["... where the other pack scores differently"] = discriminating
    report.check(mismatched == 0, f"{mismatched} stored assessments are not reproduced by the "
                                  "pack whose digest they carry")
    report.check(discriminating > 0, "no stored proposal tells the two packs apart")


def _copy_pack(target: Path) -> Path:
    shutil.copytree(ROOT / "rules", target)
    return target


def pack_reload(*, database: str = "sqlite", requests: int = 2000, concurrency: int = 6,
                workers: int = 2, postgres_url: str = DEFAULT_POSTGRES) -> Report:
    """A broken pack reloaded at 1/4 of the run (twice), a good one (weight changed) at 1/2.

    The run stops once requests // 4 were answered after every worker was replaced (at most
    RELOAD_BUDGET × `requests`: replacing the workers takes seconds, and the master checks
    the pack first), so answers from the new workers are always part of it.
    """
    from engine import load_pack

    report = Report(f"pack_reload ({database}, {workers} workers, {concurrency} clients)")
    calls = plain_calls(RELOAD_BUDGET * requests, f"RELOAD-{run_id()}", idempotent=True,
                        retry=True)
    with tempfile.TemporaryDirectory(prefix="rr-fault-") as tmp:
        directory = Path(tmp)
        old_dir = _copy_pack(directory / "pack-old")
        serve_dir = _copy_pack(directory / "pack")
        old_pack = load_pack(old_dir)
        old_digest = old_pack.digest
        old_pack.close()
        with serving(database, workers=workers, rules=serve_dir, directory=directory,
                     postgres_url=postgres_url) as server:
            run = LoadRun(server.base, calls, concurrency,
                          default_headers=server.keys.bearer("submitter")).start()
            # 1. a reload that fails: the old pack keeps serving, no worker restarts.
            _wait_completed(run, requests // 4)
            pids = server.worker_pids()
            victim = serve_dir / "sanctions.yaml"
            original = victim.read_text()
            victim.write_text(original + "\n  - id: [broken\n    when: {{\n")
            refused = [server.call("POST", "/v1/ruleset:reload", role="admin") for _ in range(2)]
            victim.write_text(original)
            for status, _, raw in refused:
                problem = json.loads(raw) if raw else {}
                report.check(status == 422 and bool(problem.get("errors")),
                             f"a broken pack's reload answered {status}: {raw[:300]!r}")
            report.facts["broken pack reloads"] = [status for status, _, _ in refused]
            status, doc = server.json("GET", "/v1/ruleset", role="auditor")
            report.check(status == 200 and doc["digest"] == old_digest,
                         "the served pack changed after a failed reload")
            report.check(server.worker_pids() == pids, "a failed reload restarted workers")
            # 2. a reload that succeeds: every worker is replaced, each on the new pack.
            _wait_completed(run, requests // 2)
            pack_yaml = serve_dir / "pack.yaml"
            text = pack_yaml.read_text()
            report.check("weight: 30" in text, "pack.yaml has no `weight: 30` to change")
            pack_yaml.write_text(text.replace("weight: 30", "weight: 60", 1))
            new_dir = directory / "pack-new"
            shutil.copytree(serve_dir, new_dir)
            reload_sent = run.elapsed()
            status, _, raw = server.call("POST", "/v1/ruleset:reload", role="admin")
            answer = json.loads(raw)
            new_digest = answer.get("ruleset", {}).get("digest")
            report.check(status == 200 and answer.get("scope") == "all-workers"
                         and new_digest not in (None, old_digest),
                         f"the good reload answered {status}: {raw[:300]!r}")
            server.wait_workers(workers, exclude=pids)
            replaced_at = run.elapsed()
            report.facts["workers replaced after the reload in (s)"] = round(
                replaced_at - reload_sent, 2)
            _wait_completed(run, run.completed + requests // 4)
            run.stop()
            run.join()
            outcomes = _sent(run)
            describe_run(report, run)
            report.check(all(o.status == 201 for o in outcomes),
                         "a request failed or was retried during the reloads")
            check_statuses(report, outcomes, {201})
            digests = {o: (body_json(o) or {}).get("ruleset", {}).get("digest")
                       for o in outcomes}
            report.check(set(digests.values()) <= {old_digest, new_digest},
                         f"unknown digests {set(digests.values()) - {old_digest, new_digest}}")
            early = [o for o in outcomes if o.started + o.latency < reload_sent]
            late = [o for o in outcomes if o.started > replaced_at]
            report.check(all(digests[o] == old_digest for o in early),
                         "an answer finished before the reload carries the new digest")
            report.check(bool(late) and all(digests[o] == new_digest for o in late),
                         "an answer started after every worker was replaced is on the old pack")
            check_records(report, server, outcomes, concurrency=concurrency)
            _rescore(server.database, {old_digest: old_dir, str(new_digest): new_dir}, report)
    return report


# -- SIGHUP with broken files (issue 14) --------------------------------------------------------

def _wait_log(server: Server, text: str, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while server.log_text().count(text) < count:
        if time.monotonic() > deadline or not server.alive():
            raise TimeoutError(f"{text!r} not logged {count} times (server alive: "
                               f"{server.alive()})")
        time.sleep(0.05)


def _sighup_checks(report: Report, server: Server, what: str, workers_before: set[int]) -> None:
    """After a refused SIGHUP: same master and workers, ready with a warning, the metric set."""
    report.check(server.alive(), "the master exited")
    report.check(server.worker_pids() == workers_before, "workers were replaced")
    status, _, raw = server.call("GET", "/readyz", role=None)
    warnings = (json.loads(raw) if raw else {}).get("warnings") or []
    report.check(status == 200 and any(f"refused ({what})" in w for w in warnings),
                 f"/readyz {status} without the refusal: {raw[:300]!r}")
    metrics = server.call("GET", "/metrics", role=None)[2].decode()
    report.check(f'riskrules_sighup_refused{{what="{what}"}} 1.0' in metrics,
                 "riskrules_sighup_refused not set")


Breakage = tuple[list[Callable[[], None]], Callable[[], None]]  # one break per SIGHUP, repair


def _sighup_scenario(name: str, break_files: Callable[[Server, Path], Breakage], *,
                     database: str, requests: int, concurrency: int, workers: int,
                     postgres_url: str) -> Report:
    """Load; at 1/3 break files and SIGHUP twice (refused, nothing fails); at 2/3 repair and
    SIGHUP (accepted: every worker replaced). Every request must be a 201 at first attempt."""
    report = Report(f"{name} ({database}, {workers} workers, {concurrency} clients)")
    calls = plain_calls(RELOAD_BUDGET * requests, f"HUP-{run_id()}", idempotent=True,
                        retry=True)
    with tempfile.TemporaryDirectory(prefix="rr-fault-") as tmp:
        directory = Path(tmp)
        serve_dir = _copy_pack(directory / "pack")
        with serving(database, workers=workers, rules=serve_dir, directory=directory,
                     postgres_url=postgres_url) as server:
            status, doc = server.json("GET", "/v1/ruleset", role="auditor")
            digest = doc["digest"]
            run = LoadRun(server.base, calls, concurrency,
                          default_headers=server.keys.bearer("submitter")).start()
            _wait_completed(run, requests // 3)
            pids = server.worker_pids()
            breaks, repair = break_files(server, serve_dir)
            refused_at = run.elapsed()
            for count, breaking in enumerate(breaks, 1):
                breaking()
                os.kill(server.master_pid, signal.SIGHUP)
                _wait_log(server, "SIGHUP refused", count)
            report.facts["refused SIGHUP check took (s)"] = round(run.elapsed() - refused_at, 2)
            what = "pack" if name.endswith("pack") else "keys"
            _sighup_checks(report, server, what, pids)
            _wait_completed(run, 2 * requests // 3)
            repair()
            os.kill(server.master_pid, signal.SIGHUP)
            sent = run.elapsed()
            server.wait_workers(workers, exclude=pids)
            report.facts["good SIGHUP: workers replaced in (s)"] = round(run.elapsed() - sent, 2)
            _wait_completed(run, run.completed + requests // 3)
            run.stop()
            run.join()
            outcomes = _sent(run)
            describe_run(report, run)
            report.check(all(o.status == 201 and not o.errors for o in outcomes),
                         "a legitimate request failed or needed a retry")
            check_statuses(report, outcomes, {201})
            digests = {(body_json(o) or {}).get("ruleset", {}).get("digest") for o in outcomes}
            report.check(digests == {digest}, f"digests {digests}, expected only {digest}")
            status, _, raw = server.call("GET", "/readyz", role=None)
            report.check(status == 200 and b"warnings" not in raw,
                         f"/readyz after the repair: {status} {raw[:200]!r}")
            check_records(report, server, outcomes, concurrency=concurrency)
    return report


def sighup_broken_pack(*, database: str = "sqlite", requests: int = 1500, concurrency: int = 6,
                       workers: int = 2, postgres_url: str = DEFAULT_POSTGRES) -> Report:
    """`kind: knockoutt` in knockouts.yaml, then SIGHUP: refused, the last good pack serves."""

    def breaker(server: Server, pack: Path) -> Breakage:
        victim = pack / "knockouts.yaml"
        original = victim.read_text()
        broken = original.replace("kind: knockout", "kind: knockoutt", 1)
        return [lambda: victim.write_text(broken)] * 2, lambda: victim.write_text(original)

    return _sighup_scenario("sighup_broken_pack", breaker, database=database,
                            requests=requests, concurrency=concurrency, workers=workers,
                            postgres_url=postgres_url)


def sighup_broken_keys(*, database: str = "sqlite", requests: int = 1500, concurrency: int = 6,
                       workers: int = 2, postgres_url: str = DEFAULT_POSTGRES) -> Report:
    """An empty keys file, then SIGHUP; then a YAML error, SIGHUP: refused, the keys stay."""

    def breaker(server: Server, pack: Path) -> Breakage:
        keys = server.keys.file
        original = keys.read_text()
        return ([lambda: keys.write_text(""), lambda: keys.write_text("keys: [{id: x\n")],
                lambda: keys.write_text(original))

    return _sighup_scenario("sighup_broken_keys", breaker, database=database,
                            requests=requests, concurrency=concurrency, workers=workers,
                            postgres_url=postgres_url)


# -- slow clients (issue 14) --------------------------------------------------------------------

def slow_client(*, requests: int = 1000, concurrency: int = 4, workers: int = 2,
                slow: int = 10, worker_class: str | None = None) -> Report:
    """`slow` connections trickle a header line every 0.5 s (and `slow` // 2 a body byte every
    0.5 s) through a load run; a probe asks /healthz every 0.2 s. Every POST must be a 201 at
    first attempt, /healthz under 1 s. `worker_class="sync"` shows the old workers."""
    import socket
    import threading

    report = Report(f"slow_client ({worker_class or 'default'} workers, {workers} workers, "
                    f"{concurrency} clients, {slow} slow heads, {slow // 2} slow bodies)")
    env = {"RISKRULES_WORKER_CLASS": worker_class} if worker_class else {}
    calls = plain_calls(requests, f"SLOW-{run_id()}", idempotent=True, retry=True)
    stop = threading.Event()
    probes: list[float] = []
    failed_probes: list[str] = []
    with serving("sqlite", workers=workers, env=env) as server:
        auth = server.keys.bearer("submitter")["Authorization"].encode()

        def trickle(body: bool) -> None:
            while not stop.is_set():  # a new connection whenever the server closes one
                try:
                    conn = socket.create_connection(("127.0.0.1", server.port), timeout=2)
                except OSError:
                    return
                with conn:
                    head = (b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth
                            + b"\r\nContent-Type: application/json\r\nContent-Length: 100000"
                            b"\r\n\r\n") if body else b"GET /healthz HTTP/1.1\r\n"
                    try:
                        conn.sendall(head)
                        while not stop.wait(0.5):
                            conn.sendall(b"{" if body else b"X-Slow: 1\r\n")
                    except OSError:
                        continue

        def probe() -> None:
            while not stop.wait(0.2):
                began = time.monotonic()
                try:
                    status = server.call("GET", "/healthz", role=None, timeout=5)[0]
                except OSError as error:
                    failed_probes.append(type(error).__name__)
                    continue
                probes.append(time.monotonic() - began)
                if status != 200:
                    failed_probes.append(str(status))

        threads = [threading.Thread(target=trickle, args=(i < slow // 2,), daemon=True)
                   for i in range(slow + slow // 2)]
        threads.append(threading.Thread(target=probe, daemon=True))
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # the slow connections are open before the load starts
        run = LoadRun(server.base, calls, concurrency,
                      default_headers=server.keys.bearer("submitter"), timeout=10).run()
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        describe_run(report, run)
        outcomes = _sent(run)
        report.facts["/healthz probes: answered / failed"] = f"{len(probes)} / {len(failed_probes)}"
        if probes:
            ordered = sorted(probes)
            report.facts["/healthz p50 / max (ms)"] = (
                f"{ordered[len(ordered) // 2] * 1000:.1f} / {ordered[-1] * 1000:.1f}")
        report.check(not failed_probes and bool(probes) and max(probes) < 1.0,
                     "/healthz failed or took 1 s or more")
        report.check(all(o.status == 201 and not o.errors for o in outcomes),
                     "a legitimate request failed or needed a retry")
        check_statuses(report, outcomes, {201})
        check_records(report, server, outcomes, concurrency=concurrency)
    return report


# -- SQLite: full disk, read-only file ----------------------------------------------------------

@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                   check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(directory: Path, leave: int) -> Path:
    """Write a filler file so that only about `leave` bytes stay free on the file system."""
    filler = directory / "filler"
    free = shutil.disk_usage(directory).free
    with filler.open("wb") as out:
        remaining = max(0, free - leave)
        while remaining > 0:
            chunk = min(remaining, 1 << 16)
            try:
                out.write(b"\0" * chunk)
                out.flush()
            except OSError:
                break
            remaining -= chunk
    return filler


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _batch_calls(n: int, prefix: str, size: int = 5) -> list[Call]:
    corpus = examples()
    calls = []
    for i in range(n):
        proposals = [json.loads(proposal_body(corpus[(i * size + j) % len(corpus)],
                                              f"{prefix}-B{i:04d}-{j}")) for j in range(size)]
        calls.append(Call("POST", "/v1/assessments:batch",
                          json.dumps({"proposals": proposals}).encode(), tag="batch"))
    return calls


def _check_batches(report: Report, server: Server, batches: Sequence[Outcome],
                   stored_refs: set[str]) -> set[str]:
    """Batch writes are all or nothing: a 200 stored every result, a 503 stored none."""
    acknowledged: set[str] = set()
    for outcome in batches:
        refs = {p["reference"] for p in json.loads(outcome.call.body or b"{}")["proposals"]}
        if outcome.status == 200:
            results = (body_json(outcome) or {}).get("results", [])
            ids = {r.get("id") for r in results}
            report.check(len(results) == len(refs) and None not in ids,
                         "a batch answer without an id per proposal")
            acknowledged |= {str(i) for i in ids}
            report.check(refs <= stored_refs, "a 200 batch is not entirely stored")
        else:
            report.check(not (refs & stored_refs),
                         f"a {outcome.status} batch left {len(refs & stored_refs)} records")
    return acknowledged


def disk_full(*, requests: int = 600, concurrency: int = 4, workers: int = 2,
              size: str = "16m", leave: int = 1024 * 1024) -> Report:
    """SQLite on a small tmpfs, filled up to `leave` free bytes before the run; then freed.

    The tmpfs must hold more than SQLite's write-ahead log grows to before its automatic
    checkpoint (1000 pages, 4 MiB): on a smaller disk the log itself keeps it full.
    """
    report = Report(f"disk_full (sqlite on a {size} tmpfs, {workers} workers, "
                    f"{concurrency} clients)")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        report.facts["skipped"] = "needs root and mount(8) for a private tmpfs"
        return report
    prefix = f"FULL-{run_id()}"
    with tempfile.TemporaryDirectory(prefix="rr-fault-") as tmp, \
            _tmpfs(Path(tmp) / "disk", size) as disk:
        db_path = disk / "full.sqlite3"
        database = Database(f"sqlite:///{db_path}", "sqlite")
        server = start_server(Path(tmp), database, workers=workers)
        try:
            filler = _fill(disk, leave)
            report.facts["free bytes before the run"] = shutil.disk_usage(disk).free
            singles = plain_calls(requests, prefix, idempotent=True, retry=True)
            batches = _batch_calls(max(1, requests // 20), prefix)
            mixed = list(singles)
            for i, batch in enumerate(batches):
                mixed.insert(min(len(mixed), (i + 1) * 10), batch)
            full = LoadRun(server.base, mixed, concurrency,
                           default_headers=server.keys.bearer("submitter")).run()
            describe_run(report, full, "full disk: ")
            filler.unlink()
            single_1 = [o for o in full.outcomes if o.call.tag != "batch"]
            failed = [o for o in single_1 if o.status == 503]
            report.check(bool(failed), "the disk never filled up (no 503)")
            report.check(any(o.status == 201 for o in single_1), "nothing was stored at all")
            check_statuses(report, full.outcomes, {200, 201, 503})
            report.check(all(body_json(o).get("code") == STORE_DOWN for o in failed),
                         "a 503 that is not RR700")
            # Space is back: new requests and the failed ones (same keys) succeed.
            more = plain_calls(max(20, requests // 10), prefix + "-after", idempotent=True,
                               retry=True)
            again = LoadRun(server.base, [o.call for o in failed] + more, concurrency,
                            default_headers=server.keys.bearer("submitter")).run()
            describe_run(report, again, "after freeing space: ")
            report.check(all(o.status in (200, 201) for o in again.outcomes),
                         "requests still fail after space was freed")
            report.facts["resent 503s replayed (write had landed)"] = sum(
                1 for o in again.outcomes[:len(failed)] if o.status == 200)
            singles_all = [o for o in single_1 if o.status != 503] + again.outcomes
            check_records(report, server, singles_all, fresh=False, concurrency=concurrency)
            from api.store import Filters, Store

            store = Store(database.url)
            try:
                stored = list(store.iter_all(Filters()))
            finally:
                store.close()
            stored_refs = {json.loads(r.assessment_json).get("reference") for r in stored}
            batch_ids = _check_batches(
                report, server, [o for o in full.outcomes if o.call.tag == "batch"], stored_refs)
            single_ids = {assessment_id(o) for o in singles_all if o.status in (200, 201)}
            report.facts["batches 200 / 503"] = (
                f"{sum(1 for o in full.outcomes if o.call.tag == 'batch' and o.status == 200)}"
                f" / {sum(1 for o in full.outcomes if o.call.tag == 'batch' and o.status == 503)}")
            report.check(len(stored) == len(single_ids) + len(batch_ids),
                         f"{len(stored)} stored, {len(single_ids) + len(batch_ids)} acknowledged")
        finally:
            server.stop()
        report.facts["integrity_check"] = _integrity(db_path)
        report.check(report.facts["integrity_check"] == "ok", "the SQLite file is damaged")
    return report


def read_only(*, requests: int = 200, concurrency: int = 4, workers: int = 2,
              seed: int = 10) -> Report:
    """Serve a SQLite file opened read-only; earlier records stay readable, writes get 503."""
    from api import create_app

    report = Report(f"read_only (sqlite ?mode=ro, {workers} workers, {concurrency} clients)")
    prefix = f"RO-{run_id()}"
    with tempfile.TemporaryDirectory(prefix="rr-fault-") as tmp:
        directory = Path(tmp)
        db_path = directory / "ro.sqlite3"
        database = Database(f"sqlite:///{db_path}", "sqlite")
        keys = Keys.create(directory)
        app = create_app({"RULES_DIR": str(ROOT / "rules"), "DATABASE_URL": database.url,
                          "KEYS_FILE": str(keys.file), "CONFIGURE_LOGGING": False,
                          "RATE_LIMIT_RPS": 0, "AUTO_MIGRATE": True, "MASTER_PID": None})
        client = app.test_client()
        seeded: dict[str, bytes] = {}
        for call in plain_calls(seed, prefix + "-seed"):
            answer = client.post(call.path, data=call.body, headers={
                **keys.bearer("submitter"), "Content-Type": "application/json"})
            seeded[answer.get_json()["id"]] = answer.get_data()
        services: Any = app.extensions["riskrules"]
        services.holder.close()
        services.store.close()
        read_only_url = f"sqlite:///file:{db_path}?mode=ro&uri=true"
        server = start_server(directory, database, workers=workers, keys=keys,
                              database_url=read_only_url, ready_path="/healthz")
        try:
            run = LoadRun(server.base, plain_calls(requests, prefix, idempotent=True, retry=True),
                          concurrency, default_headers=keys.bearer("submitter")).run()
            describe_run(report, run)
            check_statuses(report, run.outcomes, {503})
            report.check(all(is_problem(o, 503) and body_json(o).get("code") == STORE_DOWN
                             for o in run.outcomes), "a write was not answered 503 RR700")
            back = read_back(server, seeded)
            same = sum(1 for i, raw in seeded.items() if back[i].status == 200
                       and back[i].body == raw)
            report.facts["earlier records read back identical"] = f"{same}/{len(seeded)}"
            report.check(same == len(seeded), "earlier records no longer read back")
            report.facts["readyz"] = server.call("GET", "/readyz", role=None)[0]
            report.check(report.facts["readyz"] == 503, "/readyz did not say 503 (not ready)")
        finally:
            server.stop()
        stored = database.count()
        report.facts["records after the run"] = stored
        report.check(stored == seed, f"{stored} records, {seed} were seeded")
        report.facts["integrity_check"] = _integrity(db_path)
        report.check(report.facts["integrity_check"] == "ok", "the SQLite file is damaged")
    return report


SCENARIOS: dict[str, Callable[..., Report]] = {
    "kill_worker": kill_worker, "database_outage": database_outage,
    "database_stall": database_stall,
    "pack_reload": pack_reload, "disk_full": disk_full, "read_only": read_only,
    "sighup_broken_pack": sighup_broken_pack, "sighup_broken_keys": sighup_broken_keys,
    "slow_client": slow_client,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="run only this scenario (repeatable; default: all)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="backend of kill_worker and pack_reload (database_outage is "
                             "PostgreSQL, disk_full and read_only SQLite)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kills", type=int, default=4, help="workers kill_worker kills")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--slow", type=int, default=10,
                        help="slow-head connections of slow_client (half as many slow bodies)")
    parser.add_argument("--worker-class", help="slow_client: gunicorn worker class to compare "
                                               "(e.g. sync; default: the service's)")
    args = parser.parse_args(argv)
    failed = False
    for name in args.scenario or list(SCENARIOS):
        common: dict[str, Any] = {"concurrency": args.concurrency, "workers": args.workers}
        if name in ("kill_worker", "pack_reload", "sighup_broken_pack", "sighup_broken_keys"):
            common.update(database=args.database, requests=args.requests,
                          postgres_url=args.postgres_url)
            if name == "kill_worker":
                common["kills"] = args.kills
        elif name in ("database_outage", "database_stall"):
            common.update(requests=args.requests, postgres_url=args.postgres_url)
        elif name == "slow_client":
            common.update(requests=args.requests, slow=args.slow,
                          worker_class=args.worker_class)
        else:
            common.update(requests=max(100, args.requests // 4))
        started = time.perf_counter()
        report = SCENARIOS[name](**common)
        report.facts["scenario took (s)"] = round(time.perf_counter() - started, 1)
        print(report.text(), flush=True)
        failed = failed or not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
