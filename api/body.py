"""Request-body hygiene: media type, size, strict JSON (no duplicate keys, NaN, Infinity), depth.

Python's json module accepts duplicate keys (last wins), NaN and Infinity and turns 1e400 into
inf; each of those would let a client smuggle a value past validation, so all are refused here
before anything else sees the body. It also accepts `"\\ud800"`, an escaped lone surrogate:
a string no UTF-8 encoder (the store, the hash, durable_rules) can write, so it is refused too.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from flask import Request

from api.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads pairs valid surrogates up


class _Refused(ValueError):
    """Raised from inside the JSON decoder hooks."""


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


def strict_loads(text: str | bytes) -> Any:
    """Parse JSON strictly; raises MalformedBody with a message saying what is wrong."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant,
                           parse_float=_float)
    except UnicodeDecodeError:
        raise MalformedBody("body is not UTF-8") from None
    except _Refused as exc:
        raise MalformedBody(f"body is not acceptable JSON: {exc}") from None
    except RecursionError:
        raise MalformedBody("body is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"body is not JSON: {exc.msg} at line {exc.lineno} "
                            f"column {exc.colno}") from None
    if _unpaired_surrogate(value):
        raise MalformedBody("body is not acceptable JSON: a string holds an unpaired surrogate "
                            "escape (\\ud800-\\udfff); it is not Unicode text")
    return value


def depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (scalars 0, `{}` 1), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
            deepest = max(deepest, level + 1)
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
            deepest = max(deepest, level + 1)
    return deepest


def is_json_media_type(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


def read_json(request: Request, *, max_bytes: int, max_depth: int) -> Any:
    """The request's JSON body, after every hygiene check (415, 413, 400 in that order)."""
    if not is_json_media_type(request.mimetype):
        shown = request.mimetype or "none"
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {shown}")
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"request body is over the limit of {max_bytes} bytes")
    # Read one byte more than allowed so a chunked body over the limit is detected too.
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is over the limit of {max_bytes} bytes")
    if not raw.strip():
        raise MalformedBody("body is empty; a JSON object was expected")
    value = strict_loads(raw)
    if depth(value) > max_depth:
        raise MalformedBody(f"body is nested deeper than {max_depth} levels")
    return value


def canonical_hash(value: Any) -> str:
    """sha256 of the canonical JSON of a parsed body: equal for bodies equal as JSON values."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
