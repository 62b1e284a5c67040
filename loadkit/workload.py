"""What the runs send: examples/*.json cycled with unique references, plain or idempotent.

The idempotent mix reuses keys on purpose: a share of keys is sent twice far apart (a client
retrying later) and a share several times back to back (concurrent duplicates, picked up by
different threads at the same moment). Every copy of one key carries the same bytes.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from loadkit.client import Call

ROOT = Path(__file__).resolve().parents[1]
ASSESSMENTS = "/v1/assessments"


def examples() -> list[dict[str, Any]]:
    found = [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*.json"))]
    if not found:
        raise RuntimeError(f"no examples in {ROOT / 'examples'}")
    return found


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def proposal_body(template: dict[str, Any], reference: str) -> bytes:
    doc = dict(template)
    doc["reference"] = reference
    return json.dumps(doc, ensure_ascii=False).encode()


def plain_calls(n: int, prefix: str, *, idempotent: bool = False,
                retry: bool = False) -> list[Call]:
    """N unique proposals; with `idempotent`, each gets its own Idempotency-Key."""
    corpus = examples()
    calls = []
    for i in range(n):
        reference = f"{prefix}-{i:06d}"
        calls.append(Call("POST", ASSESSMENTS, proposal_body(corpus[i % len(corpus)], reference),
                          retry=retry, tag="unique",
                          key=reference if idempotent else None))
    return calls


def idempotent_mix(n: int, prefix: str, concurrency: int, *, duplicates: int = 4,
                   retry: bool = True) -> list[Call]:
    """About N calls over fewer keys: 60 % of keys once, 20 % twice far apart (a later retry),
    20 % `duplicates` times in a row (concurrent duplicates). The reference equals the key, so
    the store can be checked per key through the API."""
    corpus = examples()
    calls: list[Call] = []
    later: list[tuple[int, Call]] = []
    gap = max(3 * concurrency, 10)
    i = 0
    while len(calls) + len(later) < n:
        key = f"{prefix}-{i:06d}"
        body = proposal_body(corpus[i % len(corpus)], key)
        kind = i % 5
        if kind == 3:
            call = Call("POST", ASSESSMENTS, body, retry=retry, tag="replayed", key=key)
            calls.append(call)
            later.append((len(calls) + gap, call))
        elif kind == 4:
            calls.extend(Call("POST", ASSESSMENTS, body, retry=retry, tag="concurrent", key=key)
                         for _ in range(duplicates))
        else:
            calls.append(Call("POST", ASSESSMENTS, body, retry=retry, tag="unique", key=key))
        while later and later[0][0] <= len(calls):
            calls.append(later.pop(0)[1])
        i += 1
    calls.extend(call for _, call in later)
    return calls
