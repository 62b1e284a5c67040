"""Request-body hygiene: media type, size, strict JSON (no duplicate keys, NaN, Infinity), depth.

Python's json module accepts duplicate keys (last wins), NaN and Infinity and turns 1e400 into
inf; each of those would let a client smuggle a value past validation, so all are refused here
before anything else sees the body. It also accepts `"\\ud800"`, an escaped lone surrogate (a
string no UTF-8 encoder, the store, the hash or durable_rules, can write), and integers of any
size (a bare ValueError beyond 4300 digits): a lone surrogate, and an integer beyond the double
range like 1e309, are refused as malformed too.
"""

from __future__ import annotations

import hashlib
import json
from typing import IO, Any

from flask import Request
from gunicorn.http.errors import NoMoreData, ParseException

from api.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType
from engine.jsontext import MalformedJSON, loads_strict

_READ_SIZE = 64 * 1024


def strict_loads(text: str | bytes) -> Any:
    """Parse a request body strictly (engine.jsontext); raises MalformedBody saying why."""
    try:
        return loads_strict(text)
    except MalformedJSON as exc:
        raise MalformedBody(f"body is {exc.detail}") from None


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


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """Up to `limit` bytes of the body, reading until the end of it.

    One `read(n)` is not enough: a chunked body (no Content-Length) comes through werkzeug's
    LimitedStream, whose read returns what one underlying read gave (under gunicorn, about one
    chunk), so a single call saw a truncated body. Reading one byte more than allowed detects a
    body over the limit; werkzeug may also raise its own 413 when the limit is reached.
    """
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        try:
            chunk = stream.read(min(_READ_SIZE, limit - total))
        except (ParseException, NoMoreData) as error:
            # gunicorn reads the transfer coding while the app reads the body: a chunk size
            # like `zz`, a missing terminator or a body cut short raise here, not before.
            detail = type(error).__name__ if isinstance(error, NoMoreData) else (
                f"{type(error).__name__}: {error}")
            # (gunicorn then closes the connection: where the next request starts is unknown)
            raise MalformedBody(f"the body's transfer coding is broken ({detail})") from None
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_json(request: Request, *, max_bytes: int, max_depth: int) -> Any:
    """The request's JSON body, after every hygiene check (415, 413, 400 in that order).

    415 for a media type other than JSON or a Content-Encoding other than identity."""
    if not is_json_media_type(request.mimetype):
        shown = request.mimetype or "none"
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {shown}")
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        # Read as it came, a gzip body would be scored as bytes it is not: refuse it (RFC 7694).
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding[:40]!r} is not supported; send the JSON uncompressed",
            headers={"Accept-Encoding": "identity"})
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"request body is over the limit of {max_bytes} bytes")
    raw = _read_at_most(request.stream, max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is over the limit of {max_bytes} bytes")
    if not raw.strip():
        raise MalformedBody("body is empty; a JSON object was expected")
    value = strict_loads(raw)
    if depth(value) > max_depth:
        raise MalformedBody(f"body is nested deeper than {max_depth} levels")
    return value


def canonical(value: Any) -> Any:
    """`value` with every number in one form: a float with an integral value becomes that
    integer (`1.0`, `1e2`, `-0.0` are the JSON numbers 1, 100 and 0), others stay floats
    (written by `repr`, which round-trips). Booleans are left alone. Depth is bounded by
    read_json before this runs."""
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def canonical_hash(value: Any) -> str:
    """sha256 of the canonical JSON of a parsed body: equal for bodies equal as JSON values
    (key order, whitespace, escapes and the spelling of a number do not count)."""
    text = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
