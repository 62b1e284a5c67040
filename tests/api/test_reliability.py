"""Small versions of benchmarks/load.py and benchmarks/faults.py (loadkit) against real gunicorn servers.

Each test starts its own `riskrules serve` (2 workers, 127.0.0.1, a fresh database) and runs
a bounded load with the same code as the benchmarks, so a change that loses, duplicates or
half-writes an assessment under concurrency or faults fails here too. The full-size runs and
their figures are in docs/reliability.md.
"""

from __future__ import annotations

import os

import pytest

from loadkit import faults, load
from loadkit.verify import Report
from tests.api.support import PG_ENV

pytestmark = pytest.mark.slow


def _ok(report: Report) -> None:
    assert report.ok, report.text()


def test_concurrent_load_with_retries_and_duplicates_stores_one_record_per_key() -> None:
    report = load.run_phase("idempotent", requests=120, concurrency=6, workers=2)
    _ok(report)
    # The mix really reused keys (replays and concurrent duplicates), and all were answered.
    assert report.facts["requests with a reused key"] >= 30
    assert report.facts["statuses"].get(200, 0) >= 30
    assert report.facts["stored records (direct count)"] == report.facts["idempotency keys"]


def test_killed_worker_loses_and_duplicates_nothing() -> None:
    report = faults.kill_worker(requests=120, concurrency=6, workers=2, kills=1)
    _ok(report)
    assert len(report.facts["killed workers"]) == 1
    assert report.facts["replacement workers"][0], "the master did not start a new worker"
    assert report.facts["requests answered after the last replacement"] > 0


def test_pack_reloads_under_load_keep_serving_and_record_the_scoring_pack() -> None:
    report = faults.pack_reload(requests=80, concurrency=6, workers=2)
    _ok(report)
    assert report.facts["broken pack reloads"] == [422, 422]
    per_digest = report.facts["stored assessments per pack digest"]
    assert len(per_digest) == 2, per_digest  # both packs scored some of the run
    assert report.facts["... where the other pack scores differently"] > 0


def test_read_only_sqlite_answers_503_and_writes_nothing() -> None:
    report = faults.read_only(requests=30, concurrency=4, workers=2, seed=4)
    _ok(report)
    assert report.facts["statuses"] == {503: 30}
    assert report.facts["records after the run"] == 4


@pytest.mark.postgres
def test_postgres_cut_off_answers_503_then_recovers_without_restart() -> None:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    report = faults.database_outage(requests=100, concurrency=4, workers=2, outage=1.5,
                                    postgres_url=base)
    _ok(report)
    assert report.facts["503 answers"] > 0
    assert report.facts["readyz during / after the outage"] == "503 / 200"
