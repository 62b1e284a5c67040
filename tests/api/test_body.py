"""Strict JSON: duplicate keys, NaN, Infinity, overflowing numbers and deep nesting are refused."""

from __future__ import annotations

import pytest

from api.body import canonical_hash, depth, strict_loads
from api.errors import MalformedBody


@pytest.mark.parametrize(("text", "reason"), [
    ('{"a": 1, "a": 2}', "duplicate key"),
    ('{"a": {"b": 1, "b": 1}}', "duplicate key"),
    ('{"a": NaN}', "NaN"),
    ('{"a": Infinity}', "Infinity"),
    ('{"a": -Infinity}', "Infinity"),
    ('{"a": 1e400}', "out of range"),
    ('{"a": ', "not JSON"),
    ("", "not JSON"),
    (b"\xff\xfe", "UTF-8"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_refused(text: str | bytes, reason: str) -> None:
    with pytest.raises(MalformedBody) as caught:
        strict_loads(text)
    assert reason in caught.value.detail
    assert caught.value.status == 400


def test_accepted_values_keep_their_types() -> None:
    assert strict_loads('{"a": [1, 2.5, true, null, "é"]}') == {"a": [1, 2.5, True, None, "é"]}
    assert isinstance(strict_loads("1"), int) and isinstance(strict_loads("1.0"), float)


def test_depth() -> None:
    assert depth(1) == 0
    assert depth({}) == 1
    assert depth({"a": [{"b": []}]}) == 4


def test_canonical_hash_ignores_formatting_and_key_order_only() -> None:
    assert canonical_hash(strict_loads('{"a":1,"b":[1,2]}')) == canonical_hash(
        strict_loads('{ "b": [1, 2],\n "a": 1 }'))
    assert canonical_hash({"b": [1, 2]}) != canonical_hash({"b": [2, 1]})


def test_canonical_hash_treats_numbers_equal_as_json_values_as_equal() -> None:
    def h(text: str) -> str:
        return canonical_hash(strict_loads(text))

    assert h('{"a": 1}') == h('{"a": 1.0}') == h('{"a": 1e0}') == h('{"a": 10E-1}')
    assert h('{"a": [0, 100]}') == h('{"a": [-0.0, 1e2]}')
    assert h('{"a": 1e20}') == h('{"a": 100000000000000000000}')
    assert h('{"a": 1.5}') == h('{"a": 15e-1}')
    assert h('{"a": 1}') != h('{"a": 1.5}')
    assert h('{"a": 1}') != h('{"a": true}') and h('{"a": 0}') != h('{"a": false}')
    assert h('{"a": 1}') != h('{"a": "1"}')
    assert h('{"a": 12345678901234567890123}') != h('{"a": 1.2345678901234568e22}')
