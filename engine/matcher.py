"""The only door to durable_rules: one ruleset per compiled pack, one session per evaluation.

Everything `shared/spec/durable-rules-notes.md` warns about is handled here and nowhere else:
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
- the C core's JSON reader refuses a number with an exponent but no fraction (`1e-07`, which
  is how Python writes floats below 1e-4 or from 1e16) and saturates integers beyond 64 bits:
  `durable_json` writes every fact and ruleset in a form it reads as Python does.

We drive the C extension (`durable_rules_engine`) directly rather than through
`durable.engine.Host`, whose background dispatch threads would race our own sessions.
"""

from __future__ import annotations

import contextlib
import gc
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
CREATE_ATTEMPTS = 12
RETRY_COLLECT_AT = 3
SENTINEL_FIELD = "rr_always"

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
        rules = {name: {"all": [{"m": expr}]} for name, expr in definitions.items()}
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
        """Create the ruleset. durable_rules 2.0.28 occasionally refuses a valid definition
        with error 102 (ERR_UNEXPECTED_TYPE) and accepts the same text on the next call (seen
        about once in several thousand creations in the differential test; it reads an
        uninitialised variable while validating), so a refusal is retried a few times before
        it becomes an EngineError."""
        last: Exception | None = None
        for attempt in range(CREATE_ATTEMPTS):
            name = f"riskrules_{self._label}_{next(_NAMES)}"
            if attempt == RETRY_COLLECT_AT:
                # refusals can come in bursts (seen in long test sessions holding many packs):
                # free the rulesets of packs nobody holds any more before trying again
                gc.collect()
            # a buffer of another size each retry moves the heap layout the core reads
            # uninitialised, so that a retry does not meet the same garbage again
            ballast = bytearray(4096 * attempt)
            with _LOCK:
                try:
                    return int(_core.create_ruleset(name, self._ruleset_json))
                except Exception as exc:  # the C core raises bare Exceptions with a code
                    last = exc
            del ballast
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
                    name = _rule_name(message)
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
    beyond 64 bits becomes a float (the core saturates it, so 2**64 would equal 2**63 - 1)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=sort_keys)
    if not _suspect(text):  # the common case: two C-speed scans, no rewriting
        return text
    text = json.dumps(_widen(value), ensure_ascii=False, allow_nan=False, sort_keys=sort_keys)
    return _EXPONENT_ONLY.sub(
        lambda m: m.group(0) if m.group(1) is None else f"{m.group(1)}.0{m.group(2)}", text)


def _delete(handle: int) -> None:
    with contextlib.suppress(Exception):  # already gone
        _core.delete_ruleset(handle)


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
