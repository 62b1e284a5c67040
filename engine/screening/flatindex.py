"""Read-only lookup structures of the screening index that queries never write to.

Owns how the large parts of the screening index are kept in memory: a few big strings and
integer arrays instead of one Python object per entry. A server's master loads the index
and forks its workers, which share its pages copy-on-write until they write to them; in
CPython *reading* an object writes its reference count, so every string or bytes object a
query fetches from a dict or tuple copies its page into the worker (300 new names copied
about 75 MiB of a 120 MiB index). Here a lookup reads only the few container objects and
slices new strings out of the shared text, so the shared pages stay shared.

* `IdMap`: string → list of int32 ids, and `TextMap`: string → string (an open-addressing
  hash table in arrays, keyed by CRC-32, which unlike `hash()` is the same in every process,
  so the table can be cached; and a set of the keys, for membership).
* `Strings`: a sequence of strings kept as one string and offsets (the C kernel,
  engine/screening/_kernel.c, searches the sorted vocabulary in place).

Both have a `state()` of core values for `marshal` and a `from_state` that reads it back.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import accumulate
from typing import Any
from zlib import crc32

_EMPTY = memoryview(b"")
_INT = array("i").itemsize


def _offsets(sizes: Iterable[int]) -> array[int]:
    return array("i", accumulate(sizes, initial=0))


class Strings(Sequence[str]):
    """Strings kept as one string and their offsets; `self[i]` is a new copy."""

    def __init__(self, text: str, offsets: array[int]) -> None:
        self._text = text
        self._offsets = offsets
        self._count = len(offsets) - 1

    @classmethod
    def of(cls, strings: Iterable[str]) -> Strings:
        items = list(strings)
        return cls("".join(items), _offsets(map(len, items)))

    def state(self) -> tuple[str, bytes]:
        return self._text, self._offsets.tobytes()

    @classmethod
    def from_state(cls, state: tuple[str, bytes]) -> Strings:
        text, offsets = state
        table = array("i")
        table.frombytes(offsets)
        return cls(text, table)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._text[self._offsets[index]:self._offsets[index + 1]]

    def at(self, index: int) -> str:
        """The string at `index` (0 <= index < len), a copy."""
        return self._text[self._offsets[index]:self._offsets[index + 1]]

    def __iter__(self) -> Iterator[str]:
        text, offsets = self._text, self._offsets
        for i in range(self._count):
            yield text[offsets[i]:offsets[i + 1]]


def _slots(keys: Sequence[str]) -> array[int]:
    """The open-addressing table of `keys` (numbers, -1 for an empty slot), by CRC-32."""
    size = 8
    while size < 2 * len(keys):
        size *= 2
    slots = array("i", [-1]) * size
    for number, key in enumerate(keys):
        slot = crc32(key.encode()) & (size - 1)
        while slots[slot] >= 0:
            slot = (slot + 1) & (size - 1)
        slots[slot] = number
    return slots


class _Table:
    """The keys of a read-only map: their text, a hash table of their numbers, and a set for
    membership (a set lookup reads its table and compares keys without writing to them; only
    a value fetched from a dict gets its reference count written, and most lookups miss).

    The set is built when first needed: a map only the C kernel reads (engine.screening.index)
    never needs one, and a process that loads the index does not pay for it."""

    def __init__(self, keys: Strings, slots: array[int]) -> None:
        self._keys = keys
        self._slots = slots
        self._mask = len(slots) - 1
        self._set: frozenset[str] | None = None

    @property
    def _present(self) -> frozenset[str]:
        if self._set is None:
            self._set = frozenset(self._keys)
        return self._set

    def keys_state(self) -> tuple[str, bytes]:
        return self._keys.state()

    def _find(self, key: str) -> int:
        """The number of `key`, which is present."""
        keys, offsets = self._keys._text, self._keys._offsets
        slots, mask = self._slots, self._mask
        size = len(key)
        slot = crc32(key.encode()) & mask
        while True:
            number = slots[slot]
            start = offsets[number]
            if offsets[number + 1] - start == size and keys.startswith(key, start):
                return number
            slot = (slot + 1) & mask

    def __contains__(self, key: object) -> bool:
        return key in self._present

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)


class IdMap(_Table):
    """A read-only map of strings to lists of int32 ids. `get` returns the ids as a
    memoryview of native-endian bytes (cast to "i" to read them), or `default`."""

    def __init__(self, keys: Strings, ends: array[int], ids: bytes,
                 slots: array[int]) -> None:
        super().__init__(keys, slots)
        self._ends = ends  # ids of key i: ids[ends[i] : ends[i + 1]] (in ids, not bytes)
        self._ids = memoryview(ids)

    @classmethod
    def of(cls, mapping: Mapping[str, Sequence[int]]) -> IdMap:
        keys = tuple(mapping)
        ids = array("i")
        for key in keys:
            ids.extend(mapping[key])
        return cls(Strings.of(keys), _offsets(len(mapping[k]) for k in keys), ids.tobytes(),
                   _slots(keys))

    def state(self) -> tuple[Any, ...]:
        return (self.keys_state(), self._ends.tobytes(), self._ids.tobytes(),
                self._slots.tobytes())

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> IdMap:
        keys, ends, ids, slots = state
        ends_table, slots_table = array("i"), array("i")
        ends_table.frombytes(ends)
        slots_table.frombytes(slots)
        return cls(Strings.from_state(keys), ends_table, ids, slots_table)

    def get(self, key: str, default: memoryview = _EMPTY) -> memoryview:
        if key not in self._present:
            return default
        number = self._find(key)
        return self._ids[self._ends[number] * _INT:self._ends[number + 1] * _INT]

    @property
    def ids(self) -> memoryview:
        """Every key's ids end to end (native int32 bytes), read in place."""
        return self._ids

    def ranges(self, keys: Iterable[str]) -> bytes:
        """(start, end) in `ids`, as int32, of each of `keys` ((0, 0) for one not here)."""
        number = {key: i for i, key in enumerate(self._keys)}
        out = array("i")
        for key in keys:
            i = number.get(key)
            out.extend((0, 0) if i is None else (self._ends[i], self._ends[i + 1]))
        return out.tobytes()

    def items(self) -> Iterator[tuple[str, memoryview]]:
        for number, key in enumerate(self._keys):
            yield key, self._ids[self._ends[number] * _INT:self._ends[number + 1] * _INT]


class TextMap(_Table):
    """A read-only map of strings to strings. `get` returns a copy of the value, or ""."""

    def __init__(self, keys: Strings, values: Strings, slots: array[int]) -> None:
        super().__init__(keys, slots)
        self._values = values

    @classmethod
    def of(cls, mapping: Mapping[str, str]) -> TextMap:
        keys = tuple(mapping)
        return cls(Strings.of(keys), Strings.of(mapping[k] for k in keys), _slots(keys))

    def state(self) -> tuple[Any, ...]:
        return self.keys_state(), self._values.state(), self._slots.tobytes()

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> TextMap:
        keys, values, slots = state
        slots_table = array("i")
        slots_table.frombytes(slots)
        return cls(Strings.from_state(keys), Strings.from_state(values), slots_table)

    def get(self, key: str) -> str:
        if key not in self._present:
            return ""
        return self._values.at(self._find(key))

    def parts(self) -> tuple[str, bytes, bytes, str, bytes]:
        """(keys text, key offsets, slots, values text, value offsets): the table as the C
        kernel reads it in place (engine.screening._kernel.Vocabulary)."""
        keys, key_offsets = self.keys_state()
        values, value_offsets = self._values.state()
        return keys, key_offsets, self._slots.tobytes(), values, value_offsets
