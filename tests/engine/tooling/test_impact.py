"""engine.tooling.impact: the comparison of two packs over a corpus, checked against hand-derived numbers.

The fixture packs (fixtures/impact/base and head) differ by S-001's points (60 → 80), the
medium band's lower bound (25 → 20), M-002's threshold (usd_share < 0.25 → < 0.5), S-003
removed and M-003 (barter, 40 points) added. Factors: security weight 3, money weight 1, so
a proposal's score is 0.75 × security points + 0.25 × money points (each clamped to 100).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine import Pack, load_pack
from engine.errors import EngineError, FieldError, ProposalError
from engine.tooling import impact
from engine.tooling.impact import compare, label_of
from engine.tooling.impactreport import ImpactReport

FIXTURES = Path(__file__).parents[1] / "fixtures" / "impact"
BASE, HEAD, CORPUS = FIXTURES / "base", FIXTURES / "head", FIXTURES / "corpus.jsonl"
DAY = dt.date(2026, 11, 1)


@dataclass
class Item:
    origin: str
    data: Any


def corpus() -> list[Item]:
    items = []
    for number, line in enumerate(CORPUS.read_text().splitlines(), start=1):
        data = json.loads(line)
        items.append(Item(f"corpus.jsonl:{number}", data.get("proposal", data)))
    return items


def require_title(data: Any) -> None:
    """A stand-in for the contract validation of the API schemas."""
    if not isinstance(data, dict) or not data.get("title"):
        raise ProposalError([FieldError("title", "required")])


@pytest.fixture(scope="module")
def packs() -> Iterator[tuple[Pack, Pack]]:
    base, head = load_pack(BASE), load_pack(HEAD)
    yield base, head
    base.close()
    head.close()


@pytest.fixture(scope="module")
def report(packs: tuple[Pack, Pack]) -> ImpactReport:
    return compare(*packs, corpus(), as_of=DAY, validate=require_title)


def test_decision_matrix_is_exactly_the_hand_derived_one(report: ImpactReport) -> None:
    # P06-P08 (risky country: 45 → 60), P10-P11 (ITAR with licence: 22.5, medium now from 20),
    # P17 (+ barter: 17.5 → 25), P16 (S-003 removed: 52.5 → 37.5). Knockouts P13, P18 reject.
    expected = {("approve", "approve"): 9, ("approve", "review"): 3,
                ("review", "review"): 1, ("review", "escalate"): 3,
                ("escalate", "escalate"): 1, ("escalate", "review"): 1,
                ("reject", "reject"): 2}
    m = report.decisions
    assert m.labels == ("approve", "review", "escalate", "reject")
    assert {(b, h): m.get(b, h) for b in m.labels for h in m.labels if m.get(b, h)} == expected
    assert m.changed == 7
    assert report.total == report.assessed == 20


def test_band_matrix_differs_from_decisions_where_a_knockout_rejects(report: ImpactReport) -> None:
    # P13 is knocked out (reject) with a medium score of 30: bands and decisions part ways.
    expected = {("low", "low"): 9, ("low", "medium"): 3, ("medium", "medium"): 2,
                ("medium", "high"): 3, ("high", "high"): 1, ("high", "medium"): 1,
                ("critical", "critical"): 1}
    m = report.bands
    assert m.labels == ("low", "medium", "high", "critical")
    assert {(b, h): m.get(b, h) for b in m.labels for h in m.labels if m.get(b, h)} == expected
    assert m.row_total("medium") == 5
    assert m.column_total("medium") == 6


def test_score_deltas(report: ImpactReport) -> None:
    s = report.scores
    # +15 ×4 (P06-P09), +7.5 (P17), +17.5 (P19: M-002 and M-003 now fire), −15 (P16, P20).
    assert (s.minimum, s.median, s.maximum) == (-15.0, 0.0, 17.5)
    assert (s.increased, s.decreased, s.unchanged) == (6, 2, 12)


def test_rule_fire_counts_list_only_changed_added_and_removed_rules(report: ImpactReport) -> None:
    rows = [(r.rule, r.status, r.base_fires, r.head_fires, r.base_points, r.head_points)
            for r in report.rules]
    # S-001 changed points but fires on the same 5 proposals: not listed.
    assert rows == [("M-002", "changed", 2, 3, 30, 30), ("M-003", "added", None, 2, None, 40),
                    ("S-003", "removed", 2, None, 20, None)]


def test_changed_proposals_name_the_rules_that_made_the_difference(report: ImpactReport) -> None:
    rows = {c.label: (c.origin, c.base.decision, c.head.decision, c.base.score, c.head.score,
                      [(d.rule, d.change, d.base_points, d.head_points) for d in c.rules])
            for c in report.changed}
    assert list(rows) == ["P06", "P07", "P08", "P10", "P11", "P16", "P17"]
    assert rows["P06"] == ("corpus.jsonl:6", "review", "escalate", 45.0, 60.0,
                           [("S-001", "points", 60, 80)])
    assert rows["P10"] == ("corpus.jsonl:10", "approve", "review", 22.5, 22.5, [])
    assert rows["P16"][3:] == (52.5, 37.5, [("S-003", "base_only", 20, None)])
    assert rows["P17"][3:] == (17.5, 25.0, [("M-003", "head_only", None, 40)])
    assert [c.score_delta for c in report.changed] == [15.0, 15.0, 15.0, 0.0, 0.0, -15.0, 7.5]


def test_pack_changes_explain_what_the_head_declares_differently(report: ImpactReport) -> None:
    assert [c.describe() for c in report.pack_changes] == [
        "band medium: min 25 → 20",
        "rule S-001: points 60 → 80",
        "rule M-002: condition changed (or a list it uses)",
        "rule M-003 added",
        "rule S-003 removed",
    ]


def test_report_json_document(report: ImpactReport) -> None:
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["proposals"] == {"total": 20, "assessed": 20, "invalid": 0, "failed": 0,
                                "decision_changed": 7, "band_changed": 7, "score_changed": 8}
    assert doc["decisions"]["counts"]["review"] == {"approve": 0, "review": 1, "escalate": 3,
                                                    "reject": 0}
    assert doc["base"]["version"] == "1.0" and doc["head"]["version"] == "1.1"
    assert doc["identical_packs"] is False
    assert doc["as_of"] == "2026-11-01"
    assert set(doc["timing"]) == {"workers", "seconds", "proposals_per_second"}
    assert "timing" not in report.to_dict(timing=False)


def test_same_pack_on_both_sides_changes_nothing(packs: tuple[Pack, Pack]) -> None:
    base, _ = packs
    report = compare(base, base, corpus(), as_of=DAY)
    assert report.identical_packs
    assert report.changed == () and report.rules == () and report.pack_changes == ()
    assert report.decisions.changed == report.bands.changed == 0
    assert report.scores.unchanged == 20


def test_invalid_and_failing_proposals_are_reported_not_raised(
        packs: tuple[Pack, Pack], monkeypatch: pytest.MonkeyPatch) -> None:
    base, head = packs
    items = corpus()[:3]
    items[1] = Item("bad.json", {"reference": "NO-TITLE"})
    items.append(Item("list.json", [1, 2]))
    real = head.assess

    def flaky(proposal: Any, as_of: dt.date | None = None, **options: Any) -> Any:
        if proposal.get("reference") == "P03":
            raise EngineError("runaway evaluation")
        return real(proposal, as_of=as_of, **options)

    monkeypatch.setattr(head, "assess", flaky)
    report = compare(base, head, items, as_of=DAY, validate=require_title)
    assert report.total == 4 and report.assessed == 1
    assert [(f.origin, f.label, f.kind, f.messages) for f in report.failures] == [
        ("bad.json", "NO-TITLE", "invalid", ("title: required",)),
        ("corpus.jsonl:3", "P03", "engine", ("RR300 runaway evaluation",)),
        ("list.json", "list.json", "invalid", ("title: required",)),
    ]
    assert (report.invalid, report.engine_failures) == (2, 1)
    assert sum(report.decisions.counts.values()) == 1


def test_without_a_validator_the_head_contract_validates(packs: tuple[Pack, Pack]) -> None:
    report = compare(*packs, [Item("x", "not a proposal"), Item("y", {"title": "t"})],
                     as_of=DAY)
    assert [(f.kind, f.messages[0]) for f in report.failures] == [
        ("invalid", "$: a proposal must be a JSON object"),
        ("invalid", "initiator: Missing data for required field.")]


def test_as_of_reaches_both_packs(make_pack: Any) -> None:
    rule = ("rules:\n  - {id: D-1, title: dated, factor: security, kind: risk, points: 100,\n"
            "     effective_from: 2027-01-01, when: {path: title, eq: Test deal},\n"
            "     rationale: r, source: s}\n")
    dated = load_pack(make_pack(rule))
    plain = load_pack(make_pack(rule.replace("effective_from: 2027-01-01, ", "")))
    proposal = Item("p", {"title": "Test deal",
                          "initiator": {"name": "A", "country": "US", "type": "private_company"},
                          "counterparties": [{"name": "B", "country": "DE",
                                              "type": "private_company"}],
                          "deal": {"type": "other"}, "sectors": ["space"]})
    try:
        before = compare(dated, plain, [proposal], as_of=dt.date(2026, 12, 31))
        after = compare(dated, plain, [proposal], as_of=dt.date(2027, 1, 1))
    finally:
        dated.close()
        plain.close()
    assert [(c.base.decision, c.head.decision) for c in before.changed] == [("approve", "reject")]
    assert after.changed == ()


def test_label_prefers_reference_then_title_then_origin() -> None:
    assert label_of({"reference": "R-1", "title": "T"}, "o") == "R-1"
    assert label_of({"reference": " ", "title": "T"}, "o") == "T"
    assert label_of({"title": 3}, "o") == "o"
    assert label_of([1], "o") == "o"


def test_a_corpus_of_one_chunk_is_scored_without_starting_workers(
        packs: tuple[Pack, Pack], report: ImpactReport) -> None:
    small = compare(*packs, corpus(), as_of=DAY, workers=4, chunk_size=20,
                    validate=require_title)
    assert small.timing.workers == 1
    assert small.to_dict(timing=False) == report.to_dict(timing=False)


def test_worker_loads_both_packs_and_refuses_a_pack_changed_on_disk(
        packs: tuple[Pack, Pack], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker entry points, run in this process (a spawned pool runs exactly these).
    base, head = packs
    chunk = [(i, item.origin, item.data) for i, item in enumerate(corpus()[5:7])]
    monkeypatch.setattr(impact, "_WORKER", {})
    impact._init_worker(str(BASE), str(HEAD), (base.digest, head.digest), DAY, require_title)
    outcomes = impact._score_chunk(chunk)
    assert [(o.label, o.base and o.base.decision, o.head and o.head.decision)
            for o in outcomes] == [("P06", "review", "escalate"), ("P07", "review", "escalate")]
    assert impact._score_chunk(chunk) == outcomes  # packs loaded once, reused

    monkeypatch.setattr(impact, "_WORKER", {})
    impact._init_worker(str(BASE), str(HEAD), (base.digest, "sha256:other"), DAY, None)
    with pytest.raises(EngineError, match="changed on disk"):
        impact._score_chunk(chunk)

    monkeypatch.setattr(impact, "_WORKER", {})
    impact._init_worker(str(BASE), str(tmp_path), (base.digest, head.digest), DAY, None)
    with pytest.raises(EngineError, match="no longer loads"):
        impact._score_chunk(chunk)


def test_chunk_size_must_be_positive(packs: tuple[Pack, Pack]) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        compare(*packs, [], as_of=DAY, chunk_size=0)
