"""Strict JSON text: one reader for the API, the CLI and rule tests, so all refuse the same input.

Python's json module accepts duplicate keys (last wins), NaN and Infinity and turns 1e400 into
inf; each of those would let a client smuggle a value past validation. It also accepts
`"\\ud800"`, an escaped lone surrogate (a string no UTF-8 encoder, the store, the hash or
durable_rules, can write), and integers of any size (a bare ValueError beyond 4300 digits).
All of these are refused here, with a message that says what is wrong.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from engine.errors import RiskrulesError


class MalformedJSON(RiskrulesError):
    """Text that is not strict JSON (syntax, duplicate keys, NaN, out-of-range numbers...)."""

    code = "RR201"
    title = "Malformed JSON"

    def __init__(self, detail: str, line: int = 0, column: int = 0) -> None:
        super().__init__(detail)
        self.line = line
        self.column = column


class _Refused(ValueError):
    """Raised from inside the JSON decoder hooks."""


_MAX_INTEGER = int(sys.float_info.max)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads pairs valid surrogates up


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key {key!r}")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text} is out of range")
    return value


def _int(text: str) -> int:
    """An integer literal, refused beyond what a double holds (like 1e309: the rules compare
    numbers as doubles, so a 400-digit integer is as unusable as Infinity)."""
    try:
        value = int(text)
    except ValueError:  # over sys.get_int_max_str_digits() (4300): a ValueError, not a 500
        value = _MAX_INTEGER + 1
    if abs(value) > _MAX_INTEGER:
        shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} digits)"
        raise _Refused(f"number {shown} is out of range")
    return value


def _unpaired_surrogate(value: Any) -> bool:
    """Whether any string (key or value) holds an unpaired surrogate; iterative, no recursion."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if _LONE_SURROGATE.search(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON strictly; raises MalformedJSON with a message saying what is wrong."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant,
                           parse_float=_float, parse_int=_int)
    except UnicodeDecodeError:
        raise MalformedJSON("not UTF-8") from None
    except _Refused as exc:
        raise MalformedJSON(f"not acceptable JSON: {exc}") from None
    except RecursionError:
        raise MalformedJSON("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                            exc.lineno, exc.colno) from None
    if _unpaired_surrogate(value):
        raise MalformedJSON("not acceptable JSON: a string holds an unpaired surrogate "
                            "escape (\\ud800-\\udfff); it is not Unicode text")
    return value
