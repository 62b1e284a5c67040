"""Engine throughput against peers: the bundled pack in zen-engine, rule-engine and plain Python.

Run: python benchmarks/peers.py [--proposals N] [--rounds R] [--rules DIR] [--form FORM]

Peers are optional (zen-engine ships a 25 MB native library, so neither is in the test
extras):
    pip install zen-engine rule-engine
An absent peer is skipped with a printed note; the others still run.

Every rule of the pack active on the benchmark day is translated automatically from the engine
AST (`Rule.when`; with --form normalized, the normalised condition durable_rules runs, which
has `every`, `ne` and `not_in` where the original has `not`) into
  * zen-engine (GoRules): one decision table, hit policy `collect`, one row per rule whose
    input cell is the rule's condition as a ZEN expression (`some(counterparties ?? [], ...)`);
  * rule-engine: one `rule_engine.Rule` per rule (`$any([... for i1 in counterparties])`), on
    the proposal completed with nulls (rule-engine 5 raises on a missing mapping key);
  * plain Python: one closure per AST node, specialised when the pack is loaded (no eval, no
    AST walk or isinstance dispatch at evaluation time), as hand-written functions would be.
Nothing is hand-written: a construct a translator cannot express stops the run. The ZEN and
rule-engine translations rely on what the proposal contract guarantees (lists where lists are
declared, numbers where numbers are), as every proposal here satisfies it.

The timed proposals are examples/*.json plus `synthetic_proposals(N)` of benchmarks/engine.py,
enriched by `pack.enrich` (defaults, watchlist screening) so that `screening.*` exists.
Before anything is timed, both forms of every peer must fire exactly the rules `pack.match`
fires on every one of them and on every proposal of the pack's rule tests (rules/tests/,
which reach the rules the corpus leaves unfired); any difference stops the run (exit 1) with
the rule, the proposal and the peer's expression. Then each engine runs R rounds over the
timed proposals, engines interleaved within a round so that load from other processes spreads
over all of them. Printed: the median proposals/s from CPU time (this thread's; what wall time
would be on an idle core, and the basis of the ratios) and from wall time, with ratios against
`pack.match` (durable_rules, the same enriched input) and `pack.assess` (enrichment, matching,
evidence, scores, from the raw proposal).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.engine import DAY, synthetic_proposals  # noqa: E402
from engine import Pack, load_pack  # noqa: E402
from engine.evaluate.reference import fired_rules  # noqa: E402
from engine.language import syntax  # noqa: E402
from engine.language.contract import FieldSpec, Kind  # noqa: E402
from engine.language.contractfile import load_contract  # noqa: E402

PROPOSAL = load_contract(ROOT / "rules")
Predicate = Callable[[Any], bool]


class Untranslatable(ValueError):
    """A condition the translator cannot express faithfully in a peer's language."""


@dataclass(frozen=True)
class Translated:
    """One rule in a peer's terms: its id and what the peer evaluates (text or closure)."""

    rule_id: str
    source: str


# -- shared helpers -------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _segment(name: str, reserved: frozenset[str]) -> str:
    if not _IDENTIFIER.match(name) or name in reserved:
        raise Untranslatable(f"field name {name!r} is not a plain identifier")
    return name


def _string(value: str) -> str:
    """A single-quoted literal; quotes and backslashes would need each peer's own escapes."""
    if "'" in value or "\\" in value or "\n" in value:
        raise Untranslatable(f"string {value!r} holds a quote, backslash or newline")
    return f"'{value}'"


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Untranslatable(f"{value!r} is not a number")
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    return _number(value)


def _kind(value: object) -> str:
    """The JSON type name of a scalar operand."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    raise Untranslatable(f"operand {value!r} is not a scalar")


def _by_kind(values: Sequence[object]) -> dict[str, list[object]]:
    groups: dict[str, list[object]] = {}
    for value in values:
        groups.setdefault(_kind(value), []).append(value)
    return groups


def _or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


# -- zen-engine -----------------------------------------------------------------------------

_ZEN_RESERVED = frozenset({"and", "or", "not", "in", "true", "false", "null"})


def zen_expression(cond: syntax.Condition, scope: str | None = None) -> str:
    """The condition as a ZEN expression. `scope` is None at the top (paths from the proposal)
    and "#" inside `some`/`all` (paths from the current item).

    ZEN's `==` and `in` are type-strict and false on null, as the rule language's tests are;
    `<` and `contains` raise on null, hence the `!= null` and `?? []` guards. Like the
    rule-engine translation, it relies on what the proposal contract guarantees (lists where
    lists are declared, numbers where numbers are): on a contract-invalid proposal ZEN may
    raise (a loud failure, never a silent difference)."""
    if isinstance(cond, syntax.All | syntax.Any):
        joiner = " and " if isinstance(cond, syntax.All) else " or "
        return "(" + joiner.join(zen_expression(c, scope) for c in cond.items) + ")"
    if isinstance(cond, syntax.Not):
        return f"not ({zen_expression(cond.item, scope)})"
    if isinstance(cond, syntax.Quantifier):
        function = "some" if cond.kind == "some" else "all"
        items = _zen_path(cond.path, scope)
        return f"{function}({items} ?? [], {zen_expression(cond.condition, '#')})"
    return _zen_leaf(cond, _zen_path(cond.path, scope))


def _zen_path(path: tuple[str, ...], scope: str | None) -> str:
    names = [_segment(p, _ZEN_RESERVED) for p in path]
    if scope is None:
        if not names:
            raise Untranslatable("an empty path outside a quantifier")
        return ".".join(names)
    return ".".join([scope, *names])


def _zen_leaf(leaf: syntax.Leaf, x: str) -> str:
    op = leaf.op
    if op == "exists":
        return f"{x} != null"
    if op == "missing":
        return f"{x} == null"
    if op == "eq":
        return f"{x} == {_literal(leaf.value)}"
    if op == "ne":
        return f"({x} != null and {x} != {_literal(leaf.value)})"
    if op in ("lt", "lte", "gt", "gte"):
        symbol = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[op]
        return f"({x} != null and {x} {symbol} {_number(leaf.value)})"
    if op in ("in", "in_list"):
        return _zen_member(x, leaf.values)
    if op in ("not_in", "not_in_list"):
        return f"({x} != null and not {_zen_member(x, leaf.values)})"
    if op == "contains":
        return f"contains({x} ?? [], {_literal(leaf.value)})"
    if op == "contains_any":
        return f"some({x} ?? [], {_zen_member('#', leaf.values)})"
    if op == "matches":
        pattern = _string(str(leaf.value))[1:-1]
        return f"({x} != null and matches({x}, '^(?s:{pattern})$'))"
    raise Untranslatable(f"operator {op}")


def _zen_member(x: str, values: Sequence[object]) -> str:
    if not values:
        return "false"
    return f"({x} in [{', '.join(_literal(v) for v in values)}])"


class ZenPeer:
    """The active rules as one GoRules decision table (hit policy collect)."""

    name = "zen-engine"

    def __init__(self, rules: Sequence[Translated]) -> None:
        import zen

        rows = [{"_id": f"r{i}", "condition": r.source, "rule": _string(r.rule_id)}
                for i, r in enumerate(rules)]
        graph = {
            "contentType": "application/vnd.gorules.decision",
            "nodes": [
                {"id": "request", "type": "inputNode", "name": "Request",
                 "position": {"x": 0, "y": 0}},
                {"id": "rules", "type": "decisionTableNode", "name": "Rules",
                 "position": {"x": 300, "y": 0},
                 "content": {"hitPolicy": "collect",
                             "inputs": [{"id": "condition", "name": "Condition",
                                         "type": "expression"}],
                             "outputs": [{"id": "rule", "name": "Rule", "type": "expression",
                                          "field": "rule"}],
                             "rules": rows}},
                {"id": "response", "type": "outputNode", "name": "Response",
                 "position": {"x": 600, "y": 0}},
            ],
            "edges": [
                {"id": "e1", "sourceId": "request", "targetId": "rules", "type": "edge"},
                {"id": "e2", "sourceId": "rules", "targetId": "response", "type": "edge"},
            ],
        }
        self.decision = zen.ZenEngine().create_decision(json.dumps(graph))
        self.decision.validate()

    def fired(self, proposal: dict[str, Any]) -> list[str]:
        result: Any = self.decision.evaluate(proposal)["result"]
        return [row["rule"] for row in result]


# -- rule-engine ----------------------------------------------------------------------------

_RE_RESERVED = frozenset({"and", "or", "not", "in", "for", "if", "true", "false", "null",
                          "inf", "nan", "else"})


def rule_engine_expression(cond: syntax.Condition, scope: str | None = None, depth: int = 0) -> str:
    """The condition in rule-engine's language. Inside a quantifier the item is the
    comprehension variable i<depth>.

    rule-engine raises on `<` between a string and a number and cannot test a value's type,
    so numeric tests assume what the proposal contract guarantees (numbers where numbers are
    declared, lists where lists are); a contract-invalid proposal makes it raise, never lie."""
    if isinstance(cond, syntax.All | syntax.Any):
        joiner = " and " if isinstance(cond, syntax.All) else " or "
        return "(" + joiner.join(rule_engine_expression(c, scope, depth) for c in cond.items) + ")"
    if isinstance(cond, syntax.Not):
        return f"not ({rule_engine_expression(cond.item, scope, depth)})"
    if isinstance(cond, syntax.Quantifier):
        x = _re_path(cond.path, scope)
        var = f"i{depth + 1}"
        inner = rule_engine_expression(cond.condition, var, depth + 1)
        if cond.kind == "some":
            return f"({x} != null and $any([{inner} for {var} in {x}]))"
        return f"({x} == null or $all([{inner} for {var} in {x}]))"
    return _re_leaf(cond, _re_path(cond.path, scope))


def _re_path(path: tuple[str, ...], scope: str | None) -> str:
    """Item syntax (`deal&['value']&['amount']`): rule-engine 5 deprecates attribute syntax on
    mappings, and `&[` yields null through a null object; keys are never missing because
    RuleEnginePeer hands it proposals completed with nulls."""
    for name in path:
        _string(name)
    if scope is None:
        if not path:
            raise Untranslatable("an empty path outside a quantifier")
        head, rest = _segment(path[0], _RE_RESERVED), path[1:]
    else:
        head, rest = scope, path
    return head + "".join(f"&[{_string(name)}]" for name in rest)


def _re_leaf(leaf: syntax.Leaf, x: str) -> str:
    op = leaf.op
    if op == "exists":
        return f"{x} != null"
    if op == "missing":
        return f"{x} == null"
    if op in ("eq", "ne"):
        same = f"{x} == {_literal(leaf.value)}"  # type-strict; null never equals a literal
        return same if op == "eq" else f"({x} != null and {x} != {_literal(leaf.value)})"
    if op in ("lt", "lte", "gt", "gte"):
        symbol = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[op]
        return f"({x} != null and {x} {symbol} {_number(leaf.value)})"
    if op in ("in", "in_list", "not_in", "not_in_list"):
        member = _re_member(x, leaf.values)
        return member if op in ("in", "in_list") else f"({x} != null and not {member})"
    if op == "contains":
        if not isinstance(leaf.value, str):
            raise Untranslatable("contains with a non-string operand (`in` is not type-strict)")
        return f"({x} != null and {_literal(leaf.value)} in {x})"
    if op == "contains_any":
        return f"({x} != null and $any([{_re_member('j', leaf.values)} for j in {x}]))"
    if op == "matches":
        pattern = _string(str(leaf.value))[1:-1]
        return f"{x} =~ '(?:{pattern})\\\\Z'"  # re.match + \Z = whole text; null is false
    raise Untranslatable(f"operator {op}")


def _re_member(x: str, values: Sequence[object]) -> str:
    """`x in [strings]` is exact; for numbers and booleans `in` equates true and 1, so those
    become type-strict `==` tests."""
    parts: list[str] = []
    for kind, group in _by_kind(values).items():
        if kind == "string":
            parts.append(f"{x} in [{', '.join(_literal(v) for v in group)}]")
        else:
            parts.extend(f"{x} == {_literal(v)}" for v in group)
    return _or(parts) if parts else "false"


class RuleEnginePeer:
    """One rule_engine.Rule per pack rule, all sharing a context.

    rule-engine 5 raises on a missing mapping key (item syntax) and computes spelling
    suggestions on every attribute-syntax lookup (deprecated), so each proposal is first
    completed with nulls for the contract fields it lacks; that step is part of its time."""

    name = "rule-engine"

    def __init__(self, rules: Sequence[Translated]) -> None:
        import rule_engine

        context = rule_engine.Context(default_value=None, regex_flags=re.DOTALL,
                                      mapping_attribute_lookup=False)
        self.rules = [(r.rule_id, rule_engine.Rule(r.source, context=context)) for r in rules]

    def fired(self, proposal: dict[str, Any]) -> list[str]:
        complete = null_complete(proposal, PROPOSAL.root)
        return [rule_id for rule_id, rule in self.rules if rule.matches(complete)]


def null_complete(data: dict[str, Any], spec: FieldSpec) -> dict[str, Any]:
    """A copy of `data` where every field `spec` declares is present (null when absent)."""
    out = dict(data)
    for name, sub in spec.fields.items():
        value = out.get(name)
        if sub.kind is Kind.OBJECT and isinstance(value, dict):
            out[name] = null_complete(value, sub)
        elif sub.kind is Kind.LIST and sub.item is not None and sub.item.kind is Kind.OBJECT \
                and isinstance(value, list):
            out[name] = [null_complete(v, sub.item) if isinstance(v, dict) else v for v in value]
        elif name not in out:
            out[name] = None
    return out


# -- plain Python ---------------------------------------------------------------------------

Getter = Callable[[Any], Any]


def _getter(path: tuple[str, ...]) -> Getter:
    """The value at `path` or None (absent and null are the same to the rule language)."""
    if not path:
        return lambda d: d
    if len(path) == 1:
        (key,) = path
        return lambda d: d.get(key) if type(d) is dict else None

    def get(d: Any) -> Any:
        for key in path:
            if type(d) is not dict:
                return None
            d = d.get(key)
        return d

    return get


def _same(v: object) -> Predicate:
    """x is v with the rule language's type-strict equality (true is not 1, 1 is 1.0)."""
    if isinstance(v, bool):
        return lambda x: type(x) is bool and x == v
    if isinstance(v, str):
        return lambda x: type(x) is str and x == v
    if isinstance(v, int | float):
        return lambda x: type(x) in (int, float) and x == v
    raise Untranslatable(f"operand {v!r} is not a scalar")


def _member(values: Sequence[object]) -> Predicate:
    if all(isinstance(v, str) for v in values):
        strings = frozenset(values)
        return lambda x: type(x) is str and x in strings
    tests = [_same(v) for v in values]
    return lambda x: any(t(x) for t in tests)


def python_predicate(cond: syntax.Condition) -> Predicate:
    """The condition as a tree of closures, built once per pack."""
    if isinstance(cond, syntax.All):
        parts = [python_predicate(c) for c in cond.items]

        def every_part(d: Any) -> bool:
            for part in parts:  # noqa: SIM110 (a loop, not all(generator): twice as fast)
                if not part(d):
                    return False
            return True

        return every_part
    if isinstance(cond, syntax.Any):
        options = [python_predicate(c) for c in cond.items]

        def some_option(d: Any) -> bool:
            for option in options:  # noqa: SIM110 (a loop, not any(generator): twice as fast)
                if option(d):
                    return True
            return False

        return some_option
    if isinstance(cond, syntax.Not):
        inner = python_predicate(cond.item)
        return lambda d: not inner(d)
    if isinstance(cond, syntax.Quantifier):
        get, test = _getter(cond.path), python_predicate(cond.condition)

        def items(d: Any) -> list[Any]:
            x = get(d)
            return x if type(x) is list else [] if x is None else [x]

        if cond.kind == "some":
            return lambda d: any(test(i) for i in items(d))
        return lambda d: all(test(i) for i in items(d))
    return _python_leaf(cond, _getter(cond.path))


def _python_leaf(leaf: syntax.Leaf, get: Getter) -> Predicate:
    op = leaf.op
    if op == "exists":
        return lambda d: get(d) is not None
    if op == "missing":
        return lambda d: get(d) is None
    if op in ("eq", "ne"):
        same = _same(leaf.value)
        if op == "eq":
            return lambda d: same(get(d))
        return lambda d: (x := get(d)) is not None and not same(x)
    if op in ("lt", "lte", "gt", "gte"):
        bound = float(_number(leaf.value))
        compare: Callable[[float], bool] = {
            "lt": bound.__gt__, "lte": bound.__ge__, "gt": bound.__lt__, "gte": bound.__le__,
        }[op]
        return lambda d: type(x := get(d)) in (int, float) and compare(x)
    if op in ("in", "in_list"):
        member = _member(leaf.values)
        return lambda d: member(get(d))
    if op in ("not_in", "not_in_list"):
        member = _member(leaf.values)
        return lambda d: (x := get(d)) is not None and not member(x)
    if op == "contains":
        same = _same(leaf.value)
        return lambda d: type(x := get(d)) is list and any(same(i) for i in x)
    if op == "contains_any":
        member = _member(leaf.values)
        return lambda d: type(x := get(d)) is list and any(member(i) for i in x)
    if op == "matches":
        pattern = re.compile(str(leaf.value), re.DOTALL)
        return lambda d: type(x := get(d)) is str and pattern.fullmatch(x) is not None
    raise Untranslatable(f"operator {op}")


class PythonPeer:
    """The active rules as closures; fired() keeps declared order like the others."""

    name = "plain Python"

    def __init__(self, rules: Sequence[tuple[str, Predicate]]) -> None:
        self.rules = list(rules)

    def fired(self, proposal: dict[str, Any]) -> list[str]:
        return [rule_id for rule_id, test in self.rules if test(proposal)]


# -- building, checking, timing -------------------------------------------------------------

Peer = ZenPeer | RuleEnginePeer | PythonPeer


def conditions(pack: Pack, form: str) -> list[tuple[str, syntax.Condition]]:
    """(rule id, condition) of every rule active on DAY, in declared order."""
    return [(r.id, r.when if form == "original" else pack.conditions[r.id])
            for r in pack.rules if r.active_on(DAY)]


def translate(pack: Pack, form: str,
              to_text: Callable[[syntax.Condition], str]) -> list[Translated]:
    out: list[Translated] = []
    for rule_id, cond in conditions(pack, form):
        try:
            out.append(Translated(rule_id, to_text(cond)))
        except Untranslatable as exc:
            raise SystemExit(f"rule {rule_id} ({form} form) cannot be translated: {exc}") from None
    return out


def version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_peers(pack: Pack, form: str) -> list[tuple[str, Peer, dict[str, str]]]:
    """(label, peer, rule id → the peer's text for that rule) for every installed peer."""
    peers: list[tuple[str, Peer, dict[str, str]]] = []
    python = [(rid, python_predicate(c)) for rid, c in conditions(pack, form)]
    peers.append(("plain Python closures", PythonPeer(python),
                  {rid: "(closure)" for rid, _ in python}))
    zen_version = version("zen-engine")
    if zen_version:
        zen_rules = translate(pack, form, zen_expression)
        peers.append((f"zen-engine {zen_version} decision table", ZenPeer(zen_rules),
                      {r.rule_id: r.source for r in zen_rules}))
    re_version = version("rule-engine")
    if re_version:
        re_rules = translate(pack, form, rule_engine_expression)
        peers.append((f"rule-engine {re_version}, one Rule per rule", RuleEnginePeer(re_rules),
                      {r.rule_id: r.source for r in re_rules}))
    return peers


def missing_peers() -> list[str]:
    return [f"note: {name} is not installed, skipped (pip install {name})"
            for name in ("zen-engine", "rule-engine") if version(name) is None]


def rule_test_proposals(rules_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """The proposals of the pack's rule tests (tests/*.yaml): each aims at one rule, so they
    reach rules the benchmark corpus leaves unfired. Checked, not timed."""
    out: list[tuple[str, dict[str, Any]]] = []
    for file in sorted((rules_dir / "tests").glob("*.yaml")):
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for index, case in enumerate(document.get("cases") or []):
            if isinstance(case, dict) and isinstance(case.get("proposal"), dict):
                out.append((f"{file.name}#{index} {case.get('name', '')}", case["proposal"]))
    return out


def check(pack: Pack, corpus: list[tuple[str, dict[str, Any]]],
          peers: list[tuple[str, Peer, dict[str, str]]], form: str) -> set[str]:
    """Fail loudly unless every peer fires exactly pack.match's rules on every enriched
    proposal of `corpus`. Returns the ids of the rules that fired at least once."""
    seen: set[str] = set()
    for reference, proposal in corpus:
        ours = pack.match(proposal, DAY)
        oracle = fired_rules(pack.rules, proposal, DAY)
        if sorted(ours) != sorted(oracle):
            raise SystemExit(f"pack.match and the reference interpreter disagree on "
                             f"{reference}: {ours} vs {oracle}")
        seen.update(ours)
        for label, peer, sources in peers:
            theirs = peer.fired(proposal)
            if sorted(theirs) != sorted(ours):
                extra, lacking = set(theirs) - set(ours), set(ours) - set(theirs)
                detail = "\n".join(f"  {rid}: {sources.get(rid, '?')}"
                                   for rid in sorted(extra | lacking))
                raise SystemExit(f"MISMATCH ({form} form) on proposal {reference}: {label} "
                                 f"fires {sorted(extra)} that pack.match does not, and misses "
                                 f"{sorted(lacking)}\n{detail}")
    return seen


def runner(peer: Peer, proposals: list[dict[str, Any]]) -> Callable[[], object]:
    return lambda: [peer.fired(p) for p in proposals]


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of `work`. Everything here runs on this one thread, so CPU time is
    what the wall time would be on an idle core: the figure that survives a loaded host."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=600,
                        help="synthetic proposals, added to examples/*.json (default 600)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is shown")
    parser.add_argument("--rules", default=str(ROOT / "rules"), help="the rule pack directory")
    parser.add_argument("--form", choices=("original", "normalized"), default="original",
                        help="which AST the timed peers run (both are checked)")
    args = parser.parse_args()

    pack = load_pack(args.rules)
    examples = [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((ROOT / "examples").glob("*.json"))]
    raw = examples + synthetic_proposals(args.proposals)
    enriched = [pack.enrich(p) for p in raw]
    tests = rule_test_proposals(Path(args.rules))
    corpus = [(str(p.get("reference", f"#{i}")), e)
              for i, (p, e) in enumerate(zip(raw, enriched, strict=True))]
    corpus += [(name, pack.enrich(p)) for name, p in tests]
    for note in missing_peers():
        print(note)

    timed_peers: list[tuple[str, Peer, dict[str, str]]] = []
    for form in ("original", "normalized"):
        peers = build_peers(pack, form)
        fired = check(pack, corpus, peers, form)
        if form == args.form:
            timed_peers = peers
    active = conditions(pack, args.form)
    hits = sum(len(pack.match(e, DAY)) for e in enriched)
    never = sorted(rid for rid, _ in active if rid not in fired)
    print(f"pack {pack.name} {pack.version}: {len(active)} of {len(pack.rules)} rules active on "
          f"{DAY}; timed: {len(raw)} proposals ({len(examples)} examples + {args.proposals} "
          f"synthetic), {hits} (proposal, rule) hits")
    print(f"checked first: every engine below fires exactly pack.match's rules on those and on "
          f"the {len(tests)} rule-test proposals, original and normalised forms; "
          f"{len(active) - len(never)} of {len(active)} rules fire at least once"
          + (f" (never: {', '.join(never)})" if never else ""))

    engines: list[tuple[str, Callable[[], object]]] = [
        ("riskrules pack.assess (enrich+match+evidence+score)",
         lambda: [pack.assess(p, as_of=DAY) for p in raw]),
        ("riskrules pack.enrich (defaults+screening)",
         lambda: [pack.enrich(p) for p in raw]),
        ("riskrules pack.match (durable_rules)",
         lambda: [pack.match(e, DAY) for e in enriched]),
        ("riskrules reference interpreter (AST walk)",
         lambda: [fired_rules(pack.rules, e, DAY) for e in enriched]),
    ]
    engines += [(label, runner(peer, enriched)) for label, peer, _ in timed_peers]
    walls: dict[str, list[float]] = {label: [] for label, _ in engines}
    cpus: dict[str, list[float]] = {label: [] for label, _ in engines}
    for _ in range(args.rounds):
        for label, work in engines:
            wall, cpu = timed(work)
            walls[label].append(len(raw) / wall)
            cpus[label].append(len(raw) / cpu)
    rates = {label: statistics.median(values) for label, values in cpus.items()}
    match = rates["riskrules pack.match (durable_rules)"]
    assess = rates["riskrules pack.assess (enrich+match+evidence+score)"]
    print(f"median of {args.rounds} rounds, {args.form} form, one thread; proposals/s from CPU "
          "time (ratios too) and from wall time; the host has 2 cores shared with other jobs")
    print(f"{'engine':<52} {'CPU /s':>9} {'wall /s':>9} {'µs each':>8} {'÷ match':>8} "
          f"{'÷ assess':>8}")
    for label, rate in rates.items():
        wall_rate = statistics.median(walls[label])
        print(f"{label:<52} {rate:9,.0f} {wall_rate:9,.0f} {1e6 / rate:8,.0f} "
              f"{rate / match:8.2f} {rate / assess:8.2f}")
    pack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
