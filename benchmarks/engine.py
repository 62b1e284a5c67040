"""Engine throughput: full `assess` vs bare durable_rules vs the reference interpreter.

Run: python benchmarks/engine.py [--proposals N] [--rounds R] [--memory-evaluations M]
                                 [--clock wall|cpu]

For each pack (the bundled one and a generated 200-rule pack) and the same proposals, prints
proposals/s (median of R rounds) for
  (a) Pack.assess: screening, fact building, durable_rules matching, evidence, scoring;
  (b) bare durable_rules on the same compiled conditions: assert_fact + delete_state, facts
      prebuilt, no scoring or explanations;
  (c) the pure-Python reference interpreter on the same AST;
and the ratio a/b (target ≥ 0.7). Then it runs M evaluations in one process and prints the
resident memory before and after (target: flat).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Pack, load_pack  # noqa: E402
from engine.compile.facts import build_fact  # noqa: E402
from engine.compile.matcher import DurableMatcher  # noqa: E402
from engine.evaluate.reference import fired_rules  # noqa: E402

DAY = dt.date(2026, 11, 1)
COUNTRIES = ["RU", "CN", "IN", "BR", "ZA", "AE", "IR", "US", "DE", "JP", "TR", "KZ"]
RAILS = ["swift", "sepa", "cips", "spfs", "mir", "crypto", "stablecoin", "barter"]
SECTORS = ["space", "launch_vehicles", "electric_vehicles", "batteries",
           "artificial_intelligence", "semiconductors", "payments", "energy"]
CATEGORIES = ["launch_vehicles", "satellites", "propulsion", "navigation", "batteries",
              "ai_models", "chips", "encryption"]
CONTROLS = ["itar", "ear_controlled", "dual_use", "not_controlled", "unknown"]
TYPES = ["private_company", "state_owned_enterprise", "state_agency", "university"]


def synthetic_proposals(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    examples = [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*.json"))]
    out: list[dict[str, Any]] = []
    for i in range(n):
        if examples and i % 3 == 0:
            out.append(examples[i % len(examples)])
            continue
        out.append({
            "reference": f"BENCH-{i}",
            "title": rnd.choice(["Launch JV", "EV plant", "AI lab", "Payment rail"]),
            "initiator": {"name": "Orbital Dynamics Inc.", "country": "US",
                          "type": "private_company"},
            "counterparties": [{"name": rnd.choice(["Roscosmos", "Tata Motors", "Acme Ltd",
                                                    "Gazprombank", "BYD Company"]),
                                "country": rnd.choice(COUNTRIES), "type": rnd.choice(TYPES),
                                "state_owned": rnd.random() < 0.4}
                               for _ in range(rnd.randint(1, 3))],
            "deal": {"type": rnd.choice(["joint_venture", "technology_licensing",
                                         "supply_agreement", "launch_services"]),
                     "value": {"amount": rnd.choice([5e6, 5e7, 2e8, 1.5e9]), "currency": "USD"},
                     "duration_months": rnd.choice([12, 36, 60, 120]),
                     "jurisdictions": rnd.sample(COUNTRIES, rnd.randint(1, 3))},
            "sectors": rnd.sample(SECTORS, rnd.randint(1, 3)),
            "technologies": [{"name": f"tech {j}", "category": rnd.choice(CATEGORIES),
                              "export_control": rnd.choice(CONTROLS)}
                             for j in range(rnd.randint(0, 3))],
            "technology_transfer": rnd.choice(["none", "limited", "substantial", "full"]),
            "payments": {"currencies": ["USD"], "rails": rnd.sample(RAILS, rnd.randint(1, 3)),
                         "usd_share": rnd.choice([0.0, 0.2, 0.6, 1.0])},
            "public_profile": rnd.choice(["low", "medium", "high"]),
            "mitigations": rnd.sample(["export_license_obtained", "escrow", "exit_clause",
                                       "sanctions_legal_opinion"], rnd.randint(0, 2)),
        })
    return out


def generated_pack(directory: Path, rules: int = 200, seed: int = 11) -> Path:
    """A pack of `rules` threshold-style rules over the proposal contract."""
    rnd = random.Random(seed)
    shutil.copytree(ROOT / "tests" / "engine" / "fixtures" / "minipack", directory,
                    ignore=shutil.ignore_patterns("rules.yaml"))
    templates: list[Callable[[], dict[str, Any]]] = [
        lambda: {"path": "counterparties", "some": {"path": "country", "in_list": "risky"}},
        lambda: {"path": "counterparties", "some": {"all": [
            {"path": "type", "in": rnd.sample(TYPES, 2)},
            {"path": "country", "eq": rnd.choice(COUNTRIES)}]}},
        lambda: {"path": "deal.value.amount", "gte": rnd.choice([1e7, 1e8, 1e9])},
        lambda: {"path": "deal.duration_months", "gt": rnd.choice([24, 60])},
        lambda: {"path": "payments.rails", "contains_any": rnd.sample(RAILS, 2)},
        lambda: {"path": "payments.usd_share", "lt": rnd.choice([0.25, 0.5])},
        lambda: {"path": "technologies", "some": {"all": [
            {"path": "category", "eq": rnd.choice(CATEGORIES)},
            {"path": "export_control", "in": rnd.sample(CONTROLS, 2)}]}},
        lambda: {"path": "technology_transfer", "in": ["substantial", "full"]},
        lambda: {"all": [{"path": "sectors", "contains": rnd.choice(SECTORS)},
                         {"path": "public_profile", "eq": "high"}]},
        lambda: {"path": "deal.jurisdictions", "some": {"in_list": "risky"}},
    ]
    body = {"rules": [{"id": f"G-{i:03d}", "title": f"generated {i}",
                       "factor": rnd.choice(["security", "money"]), "kind": "risk",
                       "points": rnd.randint(1, 30), "when": rnd.choice(templates)(),
                       "rationale": "generated", "source": "benchmark"}
                      for i in range(rules)]}
    (directory / "rules.yaml").write_text(json.dumps(body), encoding="utf-8")
    return directory


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def rate(work: Callable[[], None], count: int, rounds: int,
         clock: Callable[[], float] = time.perf_counter) -> float:
    samples = []
    for _ in range(rounds):
        start = clock()
        work()
        samples.append(count / (clock() - start))
    return statistics.median(samples)


def measure(label: str, pack: Pack, proposals: list[dict[str, Any]], rounds: int,
            clock: Callable[[], float] = time.perf_counter) -> None:
    enriched = [pack.enrich(p) for p in proposals]
    facts = [build_fact(e, DAY, pack.compiled) for e in enriched]
    bare = DurableMatcher(pack.compiled.definitions, label="bench")
    # every engine must fire the same rules before we time anything
    for e, fact in zip(enriched, facts, strict=True):
        ours = sorted(pack.match(e, DAY))
        durable = sorted(pack.compiled.names[n] for n in bare.match(fact))
        reference = sorted(fired_rules(pack.rules, e, DAY))
        assert ours == durable == reference, (ours, durable, reference)

    def full() -> None:
        for p in proposals:
            pack.assess(p, as_of=DAY)

    def bare_durable() -> None:
        for fact in facts:
            bare.match(fact)

    def reference_only() -> None:
        for e in enriched:
            fired_rules(pack.rules, e, DAY)

    a = rate(full, len(proposals), rounds, clock)
    b = rate(bare_durable, len(proposals), rounds, clock)
    c = rate(reference_only, len(proposals), rounds, clock)
    bare.close()
    print(f"{label:<28} rules={len(pack.rules):<4} (a) assess {a:9.0f}/s   "
          f"(b) bare durable_rules {b:9.0f}/s   (c) reference {c:9.0f}/s   "
          f"a/b = {a / b:.2f}")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(pack: Pack, proposals: list[dict[str, Any]], evaluations: int) -> None:
    for p in proposals:  # warm caches
        pack.assess(p, as_of=DAY)
    before = rss_mb()
    fired = 0
    for i in range(evaluations):
        fired += len(pack.assess(proposals[i % len(proposals)], as_of=DAY).hits)
        if i == evaluations // 10:
            early = rss_mb()
    after = rss_mb()
    print(f"memory over {evaluations} evaluations: RSS {before:.1f} MB before, "
          f"{early:.1f} MB at 10%, {after:.1f} MB after ({fired} rule hits)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory-evaluations", type=int, default=100_000)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall clock (default), or the process's CPU time: what wall time "
                             "is on an idle core, steadier on a host shared with other jobs")
    args = parser.parse_args()
    clock = CLOCKS[args.clock]
    proposals = synthetic_proposals(args.proposals)
    bundled = load_pack(ROOT / "rules")
    measure("bundled pack", bundled, proposals, args.rounds, clock)
    with tempfile.TemporaryDirectory() as tmp:
        generated = load_pack(generated_pack(Path(tmp) / "pack"))
        measure("generated pack", generated, proposals, args.rounds, clock)
        generated.close()
    if args.memory_evaluations:
        memory(bundled, proposals, args.memory_evaluations)
    bundled.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
