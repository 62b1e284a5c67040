"""The layout of the fact given to durable_rules: which values of a proposal it holds, under
which keys, and the compiled rules rewritten to read those keys.

The matching core flattens every object it is given into dotted property names and hashes
each name; every list test (`$iany`/`$iall`) parses every item of its list again, and no two
rules share a list test: parsing items was most of the cost of a match on the bundled pack.
So the fact holds only what some compiled rule reads, each value under a short key in a flat
object per scope (the proposal, or an item of a list that a list test walks):

- a field a rule tests by its value is copied under its key (`deal.value.amount` -> `pc`);
- a list a list test walks holds its items laid out the same way, by their own keys;
- a field only tested for presence (`exists`, `missing`) holds an empty stand-in of its kind
  when it is an object or a list;
- a value the fact builder computes (engine.compile.compiler.Derived: counts, patterns, set
  membership) has a key of its own on the scope object it belongs to;
- a list of the proposal's scope is given as up to MAX_COPIES copies, each keeping only the
  item keys some of its list tests read (a list test reads the smallest copy that has all it
  reads), so that a list test reading one flag of a party does not parse the party's other
  twenty keys and its owners.

Keys are short lower-case names (`a`, `b`, ..., `ba`), unique within their scope; those of
the proposal's scope carry the prefix `p` at the top of the fact, beside the group flags and
the day. The layout is worked out once per compiled pack (`encode`) and changes nothing a rule
means: a key is present exactly when the value at its path is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ITEM = "$i"
LIST_TESTS = ("$iany", "$iall")
# the core's tests written {op: {where: operand}}; equality is written {where: value}
VALUE_TESTS = ("$neq", "$lt", "$lte", "$gt", "$gte")
PRESENCE_TESTS = ("$ex", "$nex")
# Fields no data has (contract field names have no hyphen): the markers of the compiler's
# marked choices, kept as they are.
MARKER = "rr-or-"
# At most this many copies of one list (measured on the bundled pack: one copy per largest set
# of keys read gave 12 copies of `counterparties` and a fact 60 % larger; four cost less).
MAX_COPIES = 4

Path = tuple[str, ...]
Chain = tuple[Path, ...]


@dataclass
class Scope:
    """The keys of one scope object: the proposal, or an item of a walked list."""

    chain: Chain  # the list paths leading here from the proposal
    whole: bool = False  # the item itself is tested (a list of plain values): kept as it is
    keys: dict[Path, str] = field(default_factory=dict)  # path in the scope -> key
    tested: set[Path] = field(default_factory=set)  # paths read by tests other than list tests
    valued: set[Path] = field(default_factory=set)  # paths tested by their value
    lists: dict[Path, Scope] = field(default_factory=dict)  # walked lists -> their items
    computed: dict[str, str] = field(default_factory=dict)  # derived value name -> key
    # of the proposal's scope: walked lists -> {the item keys a copy keeps: its key}
    projections: dict[Path, dict[frozenset[str], str]] = field(default_factory=dict)
    named: int = 0  # keys handed out

    def _name(self) -> str:
        self.named += 1
        return short_name(self.named - 1)

    def key(self, path: Path) -> str:
        found = self.keys.get(path)
        if found is None:
            found = self.keys[path] = self._name()
        return found

    def computed_key(self, name: str) -> str:
        found = self.computed.get(name)
        if found is None:
            found = self.computed[name] = self._name()
        return found

    def projection_key(self, path: Path, keys: frozenset[str]) -> str:
        copies = self.projections.setdefault(path, {})
        found = copies.get(keys)
        if found is None:
            found = copies[keys] = self._name()
        return found

    def items(self, path: Path) -> Scope:
        self.key(path)
        found = self.lists.get(path)
        if found is None:
            found = self.lists[path] = Scope((*self.chain, path))
        return found


def short_name(index: int) -> str:
    """`a`, `b`, ..., `z`, `ba`, `bb`, ...: base 26 in lower-case letters."""
    name = ""
    while True:
        name = chr(ord("a") + index % 26) + name
        index //= 26
        if not index:
            return name


@dataclass
class Layout:
    """The prefix of the proposal's keys at the top of the fact, and the proposal's scope."""

    prefix: str
    root: Scope = field(default_factory=lambda: Scope(()))

    def top_key(self, path: Path) -> str:
        """The key at the top of the fact of a path of the proposal (or a derived name)."""
        key = self.root.keys.get(path)
        if key is None and len(path) == 1:
            key = self.root.computed.get(path[0])
        if key is None:
            raise KeyError(path)
        return self.prefix + key


class _Encoder:
    def __init__(self, prefix: str, derived: set[tuple[Chain, str]]) -> None:
        self.prefix = prefix
        self.derived = derived
        self.root = Scope(())
        # list tests of the proposal's scope, by list: (their tests, name, item keys read)
        self.walks: dict[Path, list[tuple[dict[str, Any], str, frozenset[str]]]] = {}

    def where(self, where: str, scope: Scope, prefix: str) -> tuple[str, Path]:
        """The new name of `where` (`p.a.b`, `$i.c`) and its path in the scope."""
        if where == prefix:
            return where, ()
        head, _, rest = where.partition(".")
        if head != prefix or not rest:  # a key of the fact itself: group flags, the day
            return where, ()
        if rest.startswith(MARKER):
            return where, ()
        path = tuple(rest.split("."))
        outer = self.prefix if scope is self.root else f"{ITEM}."
        if len(path) == 1 and (scope.chain, path[0]) in self.derived:
            return outer + scope.computed_key(path[0]), path
        return outer + scope.key(path), path

    def expr(self, expr: Mapping[str, Any], scope: Scope, prefix: str) -> dict[str, Any]:
        if scope.whole:
            return dict(expr)
        out: dict[str, Any] = {}
        for key, value in expr.items():
            if key in ("$and", "$or"):
                out[key] = [self.expr(part, scope, prefix) for part in value]
            elif key in LIST_TESTS:
                tests: dict[str, Any] = {}
                for where, inner in value.items():
                    name, path = self.where(where, scope, prefix)
                    # an item that is itself a list is left as it is
                    items = Scope((*scope.chain, path), whole=True) if name == where \
                        else scope.items(path)
                    tests[name] = self.expr(inner, items, ITEM)
                    if scope is self.root and name != where:
                        self.walks.setdefault(path, []).append(
                            (tests, name, _item_reads(tests[name])))
                out[key] = tests
            elif key in PRESENCE_TESTS or key in VALUE_TESTS:
                renamed: dict[str, Any] = {}
                for where, operand in value.items():
                    name, path = self.where(where, scope, prefix)
                    if path:
                        scope.tested.add(path)
                        if key in VALUE_TESTS:
                            scope.valued.add(path)
                    renamed[name] = operand
                out[key] = renamed
            else:  # equality: {where: value}
                name, path = self.where(key, scope, prefix)
                if path:
                    scope.tested.add(path)
                    scope.valued.add(path)
                elif key == prefix:
                    scope.whole = True
                out[name] = value
        return out


def encode(definitions: Mapping[str, Mapping[str, Any]], prefix: str,
           derived: set[tuple[Chain, str]]) -> tuple[dict[str, Any], Layout]:
    """`definitions` (reading the proposal at `prefix.<path>` and list items at `$i.<path>`)
    rewritten to read the laid-out fact, and the layout. `derived` names the values the fact
    builder computes, as (chain of list paths to their scope, name)."""
    encoder = _Encoder(prefix, derived)
    encoded = {name: encoder.expr(expr, encoder.root, prefix)
               for name, expr in definitions.items()}
    root = encoder.root
    for path, walks in encoder.walks.items():
        if root.lists[path].whole:
            continue
        read = {keys for _, _, keys in walks}
        largest = sorted((keys for keys in read if not any(keys < other for other in read)),
                         key=_size_order)
        while len(largest) > MAX_COPIES:  # the smallest joins the one it grows least
            first = largest.pop(0)
            best = min(largest, key=lambda other: _size_order(other | first))
            largest.remove(best)
            largest = sorted([*largest, first | best], key=_size_order)
        for tests, name, keys in walks:
            copy = min((other for other in largest if keys <= other), key=_size_order)
            tests[prefix + root.projection_key(path, copy)] = tests.pop(name)
    return encoded, Layout(prefix, root)


def _size_order(keys: frozenset[str]) -> tuple[int, list[str]]:
    return len(keys), sorted(keys)


def _item_reads(expr: Mapping[str, Any]) -> frozenset[str]:
    """The item keys (`$i.<key>`) a laid-out list test's inner condition reads at its own
    level: tested fields and nested lists (not what is read inside those)."""
    item = f"{ITEM}."
    return frozenset(where.removeprefix(item) for where in _reads(expr)
                     if where.startswith(item) and not where.startswith(item + MARKER))


def _reads(expr: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for key, value in expr.items():
        if key in ("$and", "$or"):
            for part in value:
                out |= _reads(part)
        elif key in LIST_TESTS or key in PRESENCE_TESTS or key in VALUE_TESTS:
            out.update(value)
        else:
            out.add(key)
    return out
