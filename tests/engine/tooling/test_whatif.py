"""engine.tooling.whatif against brute force on small packs.

Missing fields: the benign and adverse outcomes must be the most lenient and the strictest
over a dense domain of values for the field. Band edges: the smallest sets of changes must
have the size of the smallest crossing set found by trying every subset, and every reported
set must really cross the threshold.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import load_pack
from engine.pack import Pack
from engine.tooling.whatif import (
    Outcome,
    candidate_values,
    pattern_of,
    set_path,
    severity,
    spec_at,
    what_if,
)
from tests.bundled import BUNDLED
from tests.bundled import RULES as BUNDLED_RULES

MITIGATIONS = BUNDLED.types["mitigation"].choices
RAILS = BUNDLED.types["payment_rail"].choices
SECTORS = BUNDLED.types["sector"].choices
DAY = dt.date(2026, 11, 27)
TESTPACK = Path(__file__).parents[1] / "fixtures" / "testpack"


@pytest.fixture(scope="module")
def testpack() -> Iterator[Pack]:
    pack = load_pack(TESTPACK)
    yield pack
    pack.close()


def _proposal(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": "t", "initiator": {"name": "A", "country": "US", "type": "private_company"},
        "counterparties": [{"name": "B", "country": "US", "type": "private_company"}],
        "deal": {"type": "other"}, "sectors": ["space"]}
    doc.update(extra)
    return doc


def _outcome(pack: Pack, proposal: dict[str, Any]) -> Outcome:
    a = pack.assess(proposal, as_of=DAY)
    return Outcome(a.decision, a.band, float(a.score))


def _brute(pack: Pack, proposal: dict[str, Any], path: str,
           domain: list[Any]) -> tuple[tuple[int, float], tuple[int, float]]:
    keys = []
    for value in domain:
        changed = copy.deepcopy(proposal)
        set_path(changed, path, value)
        keys.append(_outcome(pack, changed).key())
    return min(keys), max(keys)


def _effect(pack: Pack, proposal: dict[str, Any], path: str) -> Any:
    found = [f for f in what_if(pack, proposal, as_of=DAY).fields if f.path == path]
    assert found, f"{path} not reported as missing"
    return found[0]


@pytest.mark.parametrize("rails", [["crypto"], ["swift"]])
def test_missing_usd_share_matches_brute_force(testpack: Pack, rails: list[str]) -> None:
    proposal = _proposal(payments={"rails": rails}, technologies=[
        {"name": "x", "category": "launch_vehicles", "export_control": "itar"}])
    effect = _effect(testpack, proposal, "payments.usd_share")
    lo, hi = _brute(testpack, proposal, "payments.usd_share", [i / 100 for i in range(101)])
    assert effect.benign.outcome.key() == lo
    assert effect.adverse.outcome.key() == hi
    assert effect.benign.value >= 0.25 > effect.adverse.value


def test_missing_rails_matches_brute_force(testpack: Pack) -> None:
    proposal = _proposal(payments={"usd_share": 0.9})
    effect = _effect(testpack, proposal, "payments.rails")
    domain = [list(c) for size in (0, 1, 2) for c in itertools.combinations(RAILS, size)]
    lo, hi = _brute(testpack, proposal, "payments.rails", domain)
    assert (effect.benign.outcome.key(), effect.adverse.outcome.key()) == (lo, hi)
    assert effect.decisive == (lo[0] != hi[0])


def test_supplied_value_is_what_the_engine_reports(testpack: Pack) -> None:
    """The adverse value, put into the proposal, gives exactly the adverse outcome."""
    proposal = _proposal(payments={"usd_share": 0.9})
    effect = _effect(testpack, proposal, "payments.rails")
    changed = copy.deepcopy(proposal)
    set_path(changed, "payments.rails", effect.adverse.value)
    assert _outcome(testpack, changed) == effect.adverse.outcome


def test_set_path_creates_objects_and_indexes_lists() -> None:
    doc: dict[str, Any] = {"counterparties": [{"name": "B"}]}
    set_path(doc, "counterparties[0].owners", [{"name": "O"}])
    set_path(doc, "payments.usd_share", 0.5)
    assert doc == {"counterparties": [{"name": "B", "owners": [{"name": "O"}]}],
                   "payments": {"usd_share": 0.5}}
    assert pattern_of("counterparties[0].owners[12].country") == "counterparties[].owners[].country"
    owner = spec_at("counterparties[].owners[]", BUNDLED.root)
    assert owner is not None and "percent" in owner.fields


def test_candidates_of_a_list_of_objects_fill_required_fields(testpack: Pack) -> None:
    rules = [r for r in testpack.rules if r.id == "S-002"]
    spec = spec_at("technologies", BUNDLED.root)
    assert spec is not None
    values = candidate_values("technologies", spec, rules)
    assert [] in values
    assert any(v and v[0].get("export_control") == "itar" and v[0]["name"] and v[0]["category"]
               for v in values)


# ---------------------------------------------------------------------------------------------
# band edges on generated packs


def _write_pack(root: Path, rng: random.Random) -> None:
    risks = []
    for i, sector in enumerate(SECTORS[:7]):
        risks.append(f"""  - id: R-{i}
    title: risk {i}
    factor: {"f1" if i % 2 else "f2"}
    kind: {"knockout" if i == 6 else "risk"}
    points: {rng.choice([5, 10, 15, 25, 40, 60, 100]) if i != 6 else 100}
    when: {{path: sectors, contains: {sector}}}
    rationale: r
    source: s
""")
    for i, mitigation in enumerate(MITIGATIONS[:4]):
        risks.append(f"""  - id: M-{i}
    title: mitigation {i}
    factor: {"f1" if i % 2 else "f2"}
    kind: mitigation
    points: -{rng.choice([5, 10, 20, 35])}
    when: {{path: mitigations, contains: {mitigation}}}
    rationale: r
    source: s
""")
    (root / "pack.yaml").write_text(f"""name: gen
version: "1"
factors:
  - {{id: f1, label: F1, weight: {rng.choice([1, 2, 3])}}}
  - {{id: f2, label: F2, weight: {rng.choice([1, 2, 5])}}}
bands:
  - {{band: low, min: 0, decision: approve}}
  - {{band: medium, min: 15, decision: review}}
  - {{band: high, min: 35, decision: escalate}}
  - {{band: critical, min: 60, decision: reject}}
""")
    (root / "rules.yaml").write_text("rules:\n" + "".join(risks))
    shutil.copy(BUNDLED_RULES / "contract.yaml", root / "contract.yaml")


def test_band_edge_moves_are_the_smallest_crossing_sets(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    checked = 0
    for pack_no in range(4):
        root = tmp_path / f"p{pack_no}"
        root.mkdir()
        _write_pack(root, rng)
        pack = load_pack(root)
        try:
            for _ in range(12):
                proposal = _proposal(
                    sectors=rng.sample(SECTORS[:7], rng.randint(1, 5)),
                    mitigations=rng.sample(MITIGATIONS[:4], rng.randint(0, 2)))
                result = what_if(pack, proposal, as_of=DAY, margin=100, max_changes=4)
                checked += _check_edges(pack, proposal, result)
        finally:
            pack.close()
    assert checked > 20  # enough near-edge cases were actually compared


def _check_edges(pack: Pack, proposal: dict[str, Any], result: Any) -> int:
    decide = pack.decider(proposal, DAY)
    fired = [h.rule for h in pack.assess(proposal, as_of=DAY).hits]
    fired_ids = {r.id for r in fired}
    bands = [b.name for b in pack.bands]
    now = bands.index(result.current.band)
    compared = 0
    for direction, _threshold in result.near_edges:
        if direction == "down":
            options = [("drop", r) for r in fired if r.kind.value != "mitigation"]
            options += [("add", r) for r in pack.rules
                        if r.kind.value == "mitigation" and r.id not in fired_ids]
        else:
            options = [("drop", r) for r in fired if r.kind.value == "mitigation"]
        smallest = None
        for size in range(1, min(4, len(options)) + 1):
            for combo in itertools.combinations(options, size):
                gone = {r.id for how, r in combo if how == "drop"}
                added = [r for how, r in combo if how == "add"]
                scores, _ = decide([r for r in fired if r.id not in gone] + added)
                moved = bands.index(scores.band)
                if (moved < now) if direction == "down" else (moved > now):
                    smallest = size
                    break
            if smallest is not None:
                break
        moves = [m for m in result.edges if m.direction == direction]
        if smallest is None:
            assert moves == []
        else:
            assert moves and all(len(m.changes) == smallest for m in moves)
            for move in moves:  # each reported set really crosses, with the reported outcome
                gone = {c.rule for c in move.changes if not c.fires}
                added = [pack.rule(c.rule) for c in move.changes if c.fires]
                scores, decision = decide([r for r in fired if r.id not in gone] + added)
                assert (scores.band, decision, scores.score) == (
                    move.outcome.band, move.outcome.decision, move.outcome.score)
        compared += 1
    return compared


def test_no_edge_analysis_far_from_thresholds(testpack: Pack) -> None:
    result = what_if(testpack, _proposal(), as_of=DAY, margin=1)
    assert result.current.score == 0
    assert result.near_edges == () and result.edges == ()


def test_severity_orders_decisions() -> None:
    assert [severity(d) for d in ("approve", "review", "escalate", "reject")] == [0, 1, 2, 3]
