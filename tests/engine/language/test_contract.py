"""The proposal contract bounds every input: no list or text a client sends is unbounded."""

from __future__ import annotations

from collections.abc import Iterator

from engine.language.contract import FieldSpec, Kind
from tests.bundled import BUNDLED

PROPOSAL = BUNDLED.root


def _client_fields(spec: FieldSpec, prefix: str = "",
                   seen: frozenset[int] = frozenset()) -> Iterator[tuple[str, FieldSpec]]:
    """Every field a client may send; a type nesting itself (an owner's owners) once."""
    if id(spec.fields) in seen:
        return
    seen = seen | {id(spec.fields)}
    for name, sub in spec.fields.items():
        if sub.derived:  # computed by the engine, refused from clients
            continue
        path = f"{prefix}{name}"
        yield path, sub
        if sub.kind is Kind.OBJECT:
            yield from _client_fields(sub, f"{path}.", seen)
        elif sub.kind is Kind.LIST and sub.item is not None:
            yield f"{path}[]", sub.item
            if sub.item.kind is Kind.OBJECT:
                yield from _client_fields(sub.item, f"{path}[].", seen)


def test_every_list_a_client_sends_has_a_maximum() -> None:
    unbounded = [path for path, spec in _client_fields(PROPOSAL)
                 if spec.kind is Kind.LIST and spec.max_length is None]
    assert unbounded == []


def test_every_free_text_a_client_sends_has_a_maximum() -> None:
    unbounded = [path for path, spec in _client_fields(PROPOSAL)
                 if spec.kind is Kind.STRING and spec.max_length is None]
    assert unbounded == []


def test_every_recursive_list_has_a_depth_bound() -> None:
    recursive = [path for path, spec in _client_fields(PROPOSAL)
                 if spec.kind is Kind.LIST and spec.item is not None and spec.item.name == "owner"]
    assert recursive and all(
        spec.max_depth for path, spec in _client_fields(PROPOSAL) if path in recursive)
