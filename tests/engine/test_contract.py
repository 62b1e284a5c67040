"""The proposal contract bounds every input: no list or text a client sends is unbounded."""

from __future__ import annotations

from collections.abc import Iterator

from engine.contract import PROPOSAL, FieldSpec, Kind


def _client_fields(spec: FieldSpec, prefix: str = "") -> Iterator[tuple[str, FieldSpec]]:
    for name, sub in spec.fields.items():
        if sub.derived:  # computed by the engine, refused from clients
            continue
        path = f"{prefix}{name}"
        yield path, sub
        if sub.kind is Kind.OBJECT:
            yield from _client_fields(sub, f"{path}.")
        elif sub.kind is Kind.LIST and sub.item is not None:
            yield f"{path}[]", sub.item
            if sub.item.kind is Kind.OBJECT:
                yield from _client_fields(sub.item, f"{path}[].")


def test_every_list_a_client_sends_has_a_maximum() -> None:
    unbounded = [path for path, spec in _client_fields(PROPOSAL)
                 if spec.kind is Kind.LIST and spec.max_length is None]
    assert unbounded == []


def test_every_free_text_a_client_sends_has_a_maximum() -> None:
    unbounded = [path for path, spec in _client_fields(PROPOSAL)
                 if spec.kind is Kind.STRING and spec.max_length is None]
    assert unbounded == []
