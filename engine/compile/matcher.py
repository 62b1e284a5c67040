"""The only door to durable_rules: one ruleset per compiled pack, one session per evaluation.

Every known pitfall of durable_rules 2.0.28 (docs/durable-rules.md) is handled here and nowhere
else:
- facts, not events (events are consumed by the first matching rule);
- a fresh `sid` per evaluation and `delete_state` in `finally` (state outlives the call);
- one proposal asserted at a time (batches misfire);
- unmatched facts raise `MessageNotHandled`: that is "nothing fired", not an error;
- a session in which no action ran must never be deleted: durable_rules 2.0.28 leaves the
  action context of a new state node uninitialised (`createStateNode` in state.c) and
  `deleteStateNode` then frees garbage pointers (a crash that depends on heap layout, found
  by the differential test and confirmed with valgrind). Every ruleset therefore carries a
  sentinel rule that fires on every fact, so each session runs at least one action, which
  initialises and then clears that context before `delete_state`;
- the C core is not thread-safe and never releases the GIL: one process-wide lock;
- a bound on actions and a deadline per evaluation turn a runaway into `RunawayEvaluation`;
- rulesets get unique names and are deleted when their pack is closed;
- a list test (`$iany`/`$iall`) whose inner condition ends in an `$or` makes the core read an
  uninitialised byte: `createForwardAlpha` (rete.c) never sets the operand type of the node
  it makes for the `$or`, and `createAlpha` refuses the ruleset with error 102
  (ERR_UNEXPECTED_TYPE) when that byte happens to be 0x09 or 0x0C, so a valid pack was
  refused at random, more often in long-running processes whose heap held such bytes.
  `close_list_tests` ends every such condition with a test that always holds, so the last
  node the core reads is one whose operand it did set;
- the core holds at most 31 `$and`/`$or` markers per rule (error 113): a condition beyond that
  is given to the core as one rule per alternative of its outer disjunctions
  (`core_alternatives`), which fire as the one rule they come from;
- the C core's JSON reader refuses a number with an exponent but no fraction (`1e-07`, which
  is how Python writes floats below 1e-4 or from 1e16) and saturates integers beyond 64 bits:
  `durable_json` writes every fact and ruleset in a form it reads as Python does.

We drive the C extension (`durable_rules_engine`) directly rather than through
`durable.engine.Host`, whose background dispatch threads would race our own sessions.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

import durable_rules_engine as _core

from engine.errors import EngineError, RulesetRejected, RunawayEvaluation

_LOCK = threading.RLock()
_NAMES = itertools.count(1)
_SESSIONS = itertools.count(1)

# Result codes of the C core's assert_fact (see durable/engine.py, Ruleset._handle_result).
_HANDLED, _NOT_HANDLED, _OBSERVED, _QUEUED = 0, 1, 2, 3
SENTINEL = "rr_sentinel"
CREATE_ATTEMPTS = 2
SENTINEL_FIELD = "rr_always"
# No fact or list item ever carries this field (contract field names have no hyphen), so
# "it does not exist" holds for every item: the closing test `close_list_tests` appends.
ABSENT_FIELD = "rr-never-present"
_ALWAYS_HOLDS: dict[str, Any] = {"$nex": {ABSENT_FIELD: 1}}
_LIST_TESTS = ("$iany", "$iall")
# The core keeps a rule's `$and`/`$or` markers (two each: the operator and its end) in an array
# of 32 and refuses the rule when the count reaches 32 (MAX_SEQUENCE_EXPRESSIONS, rete.h).
MAX_CORE_MARKERS = 31
PART_MARK = "~"  # core rule `name~k` is alternative k of rule `name`

Definition = Mapping[str, Any]


class DurableMatcher:
    """Matches facts against a set of named durable_rules rules; reports which rules fired.

    `definitions` maps a rule name to its durable_rules condition expression (the value of
    the `m` pattern); every rule fires at most once per fact.
    """

    def __init__(self, definitions: Mapping[str, Definition], *, label: str = "pack",
                 max_seconds: float = 5.0) -> None:
        if SENTINEL in definitions:
            raise EngineError(f"rule name {SENTINEL} is reserved")
        rules: dict[str, Any] = {}
        self._rule_of: dict[str, str] = {}
        for name, expr in definitions.items():
            parts = core_alternatives(close_list_tests(expr))
            for index, part in enumerate(parts):
                core_name = name if len(parts) == 1 else f"{name}{PART_MARK}{index}"
                rules[core_name] = {"all": [{"m": part}]}
                self._rule_of[core_name] = name
        rules[SENTINEL] = {"all": [{"m": {SENTINEL_FIELD: 1}}]}
        self._ruleset_json = durable_json(rules, sort_keys=True)
        self._label = label
        self._rule_count = len(definitions)
        # durable_rules splits a condition into its disjuncts and fires once per disjunct that
        # holds, so the most actions one fact can cause is the total number of disjuncts.
        self._max_actions = 1 + sum(disjuncts(expr) for expr in definitions.values())
        self._max_seconds = max_seconds
        self._handle: int | None = None
        self._handle = self._create()

    def _create(self) -> int:
        """Create the ruleset. The one known cause of random refusals (error 102, see the module
        docstring) is closed by `close_list_tests`; a refusal is still tried again once, on a
        fresh name, before it becomes RulesetRejected, because the core's own validation is
        not ours to prove."""
        last: Exception | None = None
        for _ in range(CREATE_ATTEMPTS):
            name = f"riskrules_{self._label}_{next(_NAMES)}"
            with _LOCK:
                try:
                    return int(_core.create_ruleset(name, self._ruleset_json))
                except Exception as exc:  # the C core raises bare Exceptions with a code
                    last = exc
        raise RulesetRejected(f"durable_rules refused the compiled ruleset: {last}") from last

    @property
    def rule_count(self) -> int:
        return self._rule_count

    @property
    def max_actions(self) -> int:
        return self._max_actions

    def match(self, fact: Mapping[str, Any]) -> list[str]:
        """Assert `fact` in a fresh session; the names of the rules that fired, each once.

        `fact` must not carry `sid` or `id`: they are set here, per evaluation.
        """
        sid = f"s{next(_SESSIONS)}"
        payload = durable_json({**fact, SENTINEL_FIELD: 1, "sid": sid, "id": sid})
        fired: list[str] = []
        with _LOCK:
            handle = self._handle
            if handle is None:
                raise EngineError("the rule pack was closed")
            deadline = time.monotonic() + self._max_seconds
            runaway: str | None = None
            try:
                code, state = _core.assert_fact(handle, payload)
                if code == _OBSERVED:
                    raise EngineError("durable_rules saw this fact before (session id reuse)")
                if code != _HANDLED:
                    raise EngineError(f"durable_rules answered assert_fact with code {code}")
                result = _core.start_action_for_state(handle, state)
                message = result[1] if result else None
                actions = 0
                while message:
                    actions += 1
                    if actions > self._max_actions:
                        runaway = (f"evaluation fired {actions} actions; the compiled rules "
                                   f"allow at most {self._max_actions}")
                    elif time.monotonic() > deadline:
                        runaway = f"evaluation exceeded {self._max_seconds}s"
                    if runaway is not None:
                        _core.abandon_action(handle, state)
                        break
                    name = self._rule_of.get(_rule_name(message), SENTINEL)
                    if name != SENTINEL and name not in fired:
                        fired.append(name)
                    message = _core.complete_and_start_action(handle, state)
            except EngineError:
                raise
            except Exception as exc:
                raise EngineError(f"durable_rules failed: {exc}") from exc
            finally:
                with contextlib.suppress(Exception):  # nothing more to clean; keep the cause
                    _core.delete_state(handle, sid)
            if runaway is not None:
                # The core may still hold queued actions for this ruleset: start afresh.
                self._replace_handle()
                raise RunawayEvaluation(runaway)
        return fired

    def _replace_handle(self) -> None:
        old, self._handle = self._handle, None
        if old is not None:
            _delete(old)
        self._handle = self._create()

    def close(self) -> None:
        """Delete the durable_rules ruleset; further `match` calls raise EngineError."""
        with _LOCK:
            old, self._handle = self._handle, None
            if old is not None:
                _delete(old)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()


# A JSON string (skipped whole), or a number written with an exponent but no fraction.
_EXPONENT_ONLY = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\d.])(-?\d+)([eE][-+]?\d+)')
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_COMPACT = (",", ":")  # no blanks: the core reads every character of the fact once per list test
# What could be such a number (text inside strings may also hit: then the careful path).
# Python writes every float exponent with a sign (`1e-07`, `1e+16`), and a 64-bit overflow
# needs at least 19 digits in a row. Both checks run at C speed: a regex that starts with a
# literal, and a byte translation that turns every digit into 0. A regex for digit runs
# (`\d{19}`) tries a match at every digit and cost more than the JSON encoding itself.
_SIGNED_EXPONENT = re.compile(r"e[-+]\d")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19


def _suspect(text: str) -> bool:
    """Might `text` hold a number the C reader gets wrong? (False means it surely does not.)"""
    return (_SIGNED_EXPONENT.search(text) is not None
            or _LONG_DIGIT_RUN in text.encode().translate(_DIGITS_TO_ZERO))


def _widen(value: Any) -> Any:
    """`value` with integers beyond 64 bits turned into floats (beyond floats: the largest)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
        try:
            return float(value)
        except OverflowError:
            return sys.float_info.max if value > 0 else -sys.float_info.max
    if isinstance(value, Mapping):
        return {k: _widen(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_widen(v) for v in value]
    return value


def durable_json(value: Any, *, sort_keys: bool = False) -> str:
    """JSON text that durable_rules' C reader understands as Python does: `1e-07` becomes
    `1.0e-07` (the core answers error 204 to an exponent without a fraction) and an integer
    beyond 64 bits becomes a float (the core saturates it, so 2**64 would equal 2**63 - 1).
    Written without blanks."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=sort_keys,
                      separators=_COMPACT)
    if not _suspect(text):  # the common case: two C-speed scans, no rewriting
        return text
    text = json.dumps(_widen(value), ensure_ascii=False, allow_nan=False, sort_keys=sort_keys,
                      separators=_COMPACT)
    return _EXPONENT_ONLY.sub(
        lambda m: m.group(0) if m.group(1) is None else f"{m.group(1)}.0{m.group(2)}", text)


def _delete(handle: int) -> None:
    with contextlib.suppress(Exception):  # already gone
        _core.delete_ruleset(handle)


def close_list_tests(expr: Any) -> Any:
    """`expr` with the inner condition of every list test that ends in an `$or` (directly, or
    as the last part of an `$and`) followed by a test that always holds: the same condition
    to the reader, and no forward node whose operand type the core leaves unset."""
    if not isinstance(expr, Mapping):
        return expr
    closed: dict[str, Any] = {}
    for key, value in expr.items():
        if key in _LIST_TESTS and isinstance(value, Mapping):
            inner = {where: close_list_tests(cond) for where, cond in value.items()}
            closed[key] = {where: _closed(cond) for where, cond in inner.items()}
        elif key in ("$and", "$or") and isinstance(value, list):
            closed[key] = [close_list_tests(v) for v in value]
        else:
            closed[key] = value
    return closed


def _closed(cond: Any) -> Any:
    if not _ends_in_or(cond):
        return cond
    if isinstance(cond, Mapping) and set(cond) == {"$and"}:
        return {"$and": [*cond["$and"], _ALWAYS_HOLDS]}
    return {"$and": [cond, _ALWAYS_HOLDS]}


def _ends_in_or(cond: Any) -> bool:
    """Does the core end `cond` on the forward node of an `$or`?"""
    if not isinstance(cond, Mapping) or len(cond) != 1:
        return False
    ((key, value),) = cond.items()
    if key == "$or":
        return True
    return key == "$and" and isinstance(value, list) and bool(value) and _ends_in_or(value[-1])


def core_markers(expr: Any) -> int:
    """How many of the core's 32 expression slots `expr` takes: two per `$and` and `$or`,
    wherever they stand, inside list tests included."""
    if isinstance(expr, Mapping):
        return sum((2 if key in ("$and", "$or") else 0) + core_markers(value)
                   for key, value in expr.items())
    if isinstance(expr, list):
        return sum(core_markers(v) for v in expr)
    return 0


def core_alternatives(expr: Any) -> list[Any]:
    """`expr` as one or more conditions, each within the core's marker budget where splitting
    can achieve it, that together hold exactly when `expr` holds: an outer `$or` (one not
    inside a list test) is split into its alternatives, the rest of its `$and` kept in each.
    A condition that cannot be split further is returned as it is (the core then refuses it,
    which the pack reports as E022 at the rule)."""
    if core_markers(expr) <= MAX_CORE_MARKERS or not isinstance(expr, Mapping) or len(expr) != 1:
        return [expr]
    ((key, value),) = expr.items()
    if key == "$or":
        return [part for alternative in value for part in core_alternatives(alternative)]
    if key != "$and":
        return [expr]
    for position, conjunct in enumerate(value):
        if isinstance(conjunct, Mapping) and set(conjunct) == {"$or"}:
            rest = [*value[:position], *value[position + 1:]]
            return [part for alternative in conjunct["$or"]
                    for part in core_alternatives(_conjoin(rest, alternative))]
    return [expr]


def fits_core(expr: Any) -> bool:
    """Does `expr` reach the core as rules within its marker budget (see `core_alternatives`)?"""
    return all(core_markers(part) <= MAX_CORE_MARKERS
               for part in core_alternatives(close_list_tests(expr)))


def _conjoin(conjuncts: list[Any], extra: Any) -> dict[str, Any]:
    """`$and` of `conjuncts` and `extra`, an `$and` in `extra` spliced in (it saves two markers)."""
    if isinstance(extra, Mapping) and set(extra) == {"$and"}:
        return {"$and": [*conjuncts, *extra["$and"]]}
    return {"$and": [*conjuncts, extra]}


def disjuncts(expr: Any) -> int:
    """Number of alternatives durable_rules makes of a condition (its DNF size), at least 1."""
    if isinstance(expr, Mapping):
        total = 1
        for key, value in expr.items():
            if key == "$or":
                total *= max(1, sum(disjuncts(v) for v in value))
            elif key == "$and":
                for v in value:
                    total *= disjuncts(v)
        return total
    return 1


def _rule_name(message: str) -> str:
    """The rule name of an action message `{"<name>": {"m": <fact>}}` without parsing the fact
    (decoding the whole fact once per fired rule was the largest cost of a match)."""
    start = message.index('"') + 1
    return message[start:message.index('"', start)]
