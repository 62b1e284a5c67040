"""The screening index's flat structures answer as the dicts and tuples they replace, before
and after their on-disk form (marshal)."""

from __future__ import annotations

import marshal
from array import array

from hypothesis import given
from hypothesis import strategies as st

from engine.screening.flatindex import IdMap, Strings, TextMap

WORDS = st.text(alphabet="abcdez0 ", min_size=0, max_size=8)


def _ids(view: memoryview) -> list[int]:
    return list(view.cast("i"))


@given(st.dictionaries(WORDS, st.lists(st.integers(-2**31, 2**31 - 1), max_size=5),
                       max_size=40), st.lists(WORDS, max_size=10))
def test_id_map_answers_as_a_dict(mapping: dict[str, list[int]], others: list[str]) -> None:
    for table in (IdMap.of(mapping), IdMap.from_state(marshal.loads(marshal.dumps(
            IdMap.of(mapping).state())))):
        assert len(table) == len(mapping)
        assert sorted(table) == sorted(mapping)
        for key in [*mapping, *others]:
            assert (key in table) == (key in mapping)
            assert _ids(table.get(key)) == mapping.get(key, [])
        assert {k: _ids(v) for k, v in table.items()} == mapping


@given(st.dictionaries(WORDS, WORDS, max_size=40), st.lists(WORDS, max_size=10))
def test_text_map_answers_as_a_dict(mapping: dict[str, str], others: list[str]) -> None:
    for table in (TextMap.of(mapping), TextMap.from_state(marshal.loads(marshal.dumps(
            TextMap.of(mapping).state())))):
        for key in [*mapping, *others]:
            assert (key in table) == (key in mapping)
            assert table.get(key) == mapping.get(key, "")


@given(st.lists(WORDS, max_size=30))
def test_strings_read_back_as_the_list(words: list[str]) -> None:
    ordered = sorted(set(words))
    strings = Strings.from_state(marshal.loads(marshal.dumps(Strings.of(ordered).state())))
    assert list(strings) == ordered and len(strings) == len(ordered)
    if ordered:
        assert strings[-1] == ordered[-1] and strings.at(0) == ordered[0]
        assert strings[1:3] == ordered[1:3]


def test_a_full_table_probes_past_collisions() -> None:
    # many keys: collisions in the open-addressing table are certain
    mapping = {f"k{i}": [i, -i] for i in range(5_000)}
    table = IdMap.of(mapping)
    assert all(_ids(table.get(k)) == v for k, v in mapping.items())
    assert array("i", table.get("k4999").cast("i")).tolist() == [4999, -4999]
    assert table.get("k5000") == memoryview(b"")
