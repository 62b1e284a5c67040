"""The checks after a run: what clients were told was stored is stored, once, byte for byte.

A `Report` collects facts (numbers for the docs) and failures (broken properties); the
benchmarks print both and the tests assert on both.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadkit.client import Call, LoadRun, Outcome, summarise
from loadkit.server import Server

PROBLEM = "application/problem+json"


@dataclass
class Report:
    name: str
    facts: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failures.append(message)
        return ok

    @property
    def ok(self) -> bool:
        return not self.failures

    def text(self) -> str:
        lines = [f"== {self.name}: {'OK' if self.ok else 'FAILED'}"]
        lines += [f"   {name}: {value}" for name, value in self.facts.items()]
        lines += [f"   FAILURE: {failure}" for failure in self.failures]
        return "\n".join(lines)


def body_json(outcome: Outcome) -> Any:
    try:
        return json.loads(outcome.body)
    except ValueError:
        return None


def assessment_id(outcome: Outcome) -> str | None:
    doc = body_json(outcome)
    return doc.get("id") if isinstance(doc, dict) else None


def is_problem(outcome: Outcome, status: int) -> bool:
    """A proper RFC 9457 problem document with this status (and a riskrules code)."""
    doc = body_json(outcome)
    ctype = outcome.header("Content-Type") or ""
    return (outcome.status == status and ctype.startswith(PROBLEM) and isinstance(doc, dict)
            and doc.get("status") == status and bool(doc.get("code")))


def list_all(server: Server, page: int = 500) -> list[dict[str, Any]]:
    """Every stored assessment through GET /v1/assessments (auditor key, cursor pagination)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        path = f"/v1/assessments?limit={page}" + (f"&cursor={cursor}" if cursor else "")
        status, _, raw = server.call("GET", path, role="auditor", timeout=60)
        if status != 200:
            raise RuntimeError(f"listing answered {status}: {raw[:300]!r}")
        doc = json.loads(raw)
        items.extend(doc["items"])
        cursor = doc["next_cursor"]
        if not cursor:
            return items


def read_back(server: Server, ids: Iterable[str], concurrency: int = 4) -> dict[str, Outcome]:
    """GET /v1/assessments/{id} for each id (auditor key); the raw answers by id."""
    wanted = sorted(set(ids))
    calls = [Call("GET", f"/v1/assessments/{i}", tag=i, retry=True) for i in wanted]
    run = LoadRun(server.base, calls, concurrency,
                  default_headers=server.keys.bearer("auditor")).run()
    return {o.call.tag: o for o in run.outcomes}


def check_statuses(report: Report, outcomes: Sequence[Outcome], allowed: set[int]) -> None:
    counts = Counter(o.status for o in outcomes)
    report.facts.setdefault("statuses", dict(sorted(counts.items())))
    unexpected = {code: n for code, n in counts.items() if code not in allowed}
    report.check(not unexpected, f"unexpected statuses {unexpected} (allowed {sorted(allowed)})")
    five = [o for o in outcomes if o.status >= 500]
    bad = [o for o in five if not is_problem(o, o.status)]
    report.check(not bad, f"{len(bad)} 5xx answers are not problem documents, e.g. "
                          f"{bad[0].body[:200]!r}" if bad else "")
    report.check(counts.get(500, 0) == 0, f"{counts.get(500, 0)} answers were 500")


def check_records(report: Report, server: Server, outcomes: Sequence[Outcome], *,
                  fresh: bool = True, concurrency: int = 4) -> None:
    """The no-data-loss properties of POST /v1/assessments outcomes.

    * every id answered with 201 (or replayed with 200) is stored and reads back identical,
      byte for byte;
    * each reference (one per proposal or Idempotency-Key) is stored exactly once, and at most
      one request per key got a 201; every answer for one key names the same id;
    * on a fresh database, the stored count equals the number of distinct acknowledged ids,
      through the API and directly in the store.
    """
    posts = [o for o in outcomes if o.call.method == "POST"]
    acknowledged = [o for o in posts if o.status in (200, 201)]
    ids = {o: assessment_id(o) for o in acknowledged}
    report.check(all(ids.values()), "a success answer without an id")
    created = [ids[o] for o in acknowledged if o.status == 201]
    report.check(len(created) == len(set(created)), "two 201 answers carry the same id")
    replays = [o for o in acknowledged if o.status == 200]
    report.check(all(o.header("Idempotent-Replayed") == "true" for o in replays),
                 "a 200 to a POST that is not an idempotent replay")

    stored = list_all(server)
    direct = server.database.count()
    stored_ids = Counter(item["id"] for item in stored)
    report.facts["stored records (API listing)"] = len(stored)
    report.facts["stored records (direct count)"] = direct
    report.check(len(stored) == direct, f"listing shows {len(stored)}, the store holds {direct}")
    report.check(all(n == 1 for n in stored_ids.values()), "an id is stored twice")

    answered_ids = {i for i in ids.values() if i}
    missing = answered_ids - set(stored_ids)
    report.check(not missing, f"{len(missing)} acknowledged assessments are not stored, "
                              f"e.g. {sorted(missing)[:3]}")
    if fresh:
        report.facts["distinct acknowledged ids"] = len(answered_ids)
        unacknowledged = set(stored_ids) - answered_ids
        report.check(not unacknowledged,
                     f"{len(unacknowledged)} stored assessments were never acknowledged")

    # Per proposal / Idempotency-Key: the reference is unique per key in every workload.
    references = Counter(item.get("reference") for item in stored)
    twice = [ref for ref, n in references.items() if n > 1]
    report.check(not twice, f"{len(twice)} references stored more than once, e.g. {twice[:3]}")
    keyed = [o for o in posts if o.call.key]
    if keyed:
        answers: dict[str, set[str | None]] = {}
        for outcome in keyed:
            if outcome in ids:
                answers.setdefault(outcome.call.key or "", set()).add(ids[outcome])
        keys = {o.call.key for o in keyed}
        report.facts["idempotency keys"] = len(keys)
        report.facts["requests with a reused key"] = len(keyed) - len(keys)
        per_key_201 = Counter(o.call.key for o in keyed if o.status == 201)
        report.check(all(n <= 1 for n in per_key_201.values()),
                     f"keys with more than one 201: "
                     f"{[k for k, n in per_key_201.items() if n > 1][:3]}")
        spans: dict[str, list[tuple[float, float]]] = {}
        for outcome in keyed:
            spans.setdefault(outcome.call.key or "", []).append(
                (outcome.started, outcome.started + outcome.latency))
        overlapping = sum(1 for found in spans.values() if len(found) > 1 and any(
            a[1] > b[0] for a, b in zip(sorted(found), sorted(found)[1:], strict=False)))
        report.facts["keys with requests in flight at the same time"] = overlapping
        split = [k for k, found in answers.items() if len(found) > 1]
        report.check(not split, f"keys answered with different ids: {split[:3]}")

    back = read_back(server, answered_ids, concurrency)
    unequal = [o for o in acknowledged
               if (b := back.get(ids[o] or "")) is None or b.status != 200 or b.body != o.body]
    report.facts["read back identical"] = f"{len(acknowledged) - len(unequal)}/{len(acknowledged)}"
    report.check(not unequal, f"{len(unequal)} answers differ from the stored record, e.g. "
                              f"{[ids[o] for o in unequal[:3]]}")


def describe_run(report: Report, run: LoadRun, prefix: str = "") -> None:
    summary = summarise(run)
    report.facts[f"{prefix}load"] = summary.line()
    retried = [o for o in run.outcomes if o.attempts > 1]
    if retried:
        report.facts[f"{prefix}requests retried after a connection error"] = len(retried)
