"""Load and no data loss: N POST /v1/assessments against a real `riskrules serve`, then checks.

Run: python benchmarks/load.py [--database sqlite|postgresql] [--requests N] [--concurrency C]
                               [--workers W] [--postgres-url URL] [--phase plain|idempotent|both]

Each phase starts its own server (gunicorn, W workers, a temporary keys file, a fresh SQLite
file or a fresh PostgreSQL schema, rate limit off) on 127.0.0.1 and sends about N requests
with C client threads (keep-alive http.client connections):

  plain       N unique proposals (examples/*.json cycled, unique references), no
              Idempotency-Key;
  idempotent  about N requests with an Idempotency-Key each: 60 % of keys once, 20 % twice
              far apart (a retry), 20 % four times in a row (concurrent duplicates).

Then it checks: no 5xx; 201 answers == stored records (through GET /v1/assessments with an
auditor key and directly in the store); every acknowledged id reads back byte for byte
identical; one record per reference and per Idempotency-Key, at most one 201 per key. It
prints throughput and p50/p99 latency, and exits 1 if a check failed.
"""

from __future__ import annotations

import argparse
import sys

from loadkit.client import LoadRun
from loadkit.server import DEFAULT_POSTGRES, serving
from loadkit.verify import (
    Report,
    check_records,
    check_statuses,
    describe_run,
)
from loadkit.workload import idempotent_mix, plain_calls, run_id

TIME_LIMIT = 600.0


def run_phase(phase: str, *, database: str = "sqlite", requests: int = 2000,
              concurrency: int = 8, workers: int = 2, postgres_url: str = DEFAULT_POSTGRES,
              time_limit: float = TIME_LIMIT) -> Report:
    """One phase on its own server and fresh database; returns the facts and any failures."""
    report = Report(f"load/{phase} ({database}, {workers} workers, {concurrency} clients)")
    prefix = f"LOAD-{run_id()}"
    if phase == "plain":
        calls = plain_calls(requests, prefix)
    elif phase == "idempotent":
        calls = idempotent_mix(requests, prefix, concurrency)
    else:
        raise ValueError(f"unknown phase {phase!r}")
    with serving(database, workers=workers, postgres_url=postgres_url) as server:
        run = LoadRun(server.base, calls, concurrency, time_limit=time_limit,
                      default_headers=server.keys.bearer("submitter")).run()
        describe_run(report, run)
        report.check(all(o.status > 0 for o in run.outcomes),
                     "some requests were not sent or not answered within the time limit")
        allowed = {201} if phase == "plain" else {200, 201}
        check_statuses(report, run.outcomes, allowed)
        check_records(report, server, run.outcomes, concurrency=concurrency)
        if phase == "plain":
            created = sum(1 for o in run.outcomes if o.status == 201)
            report.facts["201 answers"] = created
            report.check(created == server.database.count(),
                         "201 answers differ from the stored records")
        else:
            keys = {o.call.key for o in run.outcomes}
            report.check(server.database.count() == len(keys),
                         f"{server.database.count()} records for {len(keys)} idempotency keys")
        report.check(server.alive(), "the server died")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES,
                        help="PostgreSQL database in which a fresh schema is made and dropped")
    parser.add_argument("--phase", choices=["plain", "idempotent", "both"], default="both")
    args = parser.parse_args(argv)
    phases = ["plain", "idempotent"] if args.phase == "both" else [args.phase]
    failed = False
    for phase in phases:
        report = run_phase(phase, database=args.database, requests=args.requests,
                           concurrency=args.concurrency, workers=args.workers,
                           postgres_url=args.postgres_url)
        print(report.text(), flush=True)
        failed = failed or not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
