"""The assessment store on both backends: append, read back, idempotency, pages, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.errors import InvalidQuery
from api.migrate import current, head, upgrade
from api.service import decode_cursor, encode_cursor
from api.store import (
    DuplicateIdempotencyKey,
    Filters,
    NewAssessment,
    Store,
    StoreUnavailable,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def record(n: int, *, decision: str = "approve", band: str = "low", key: str = "k",
           idem: str | None = None, reference: str | None = None) -> NewAssessment:
    doc = {"id": f"id-{n}", "decision": decision, "band": band, "score": float(n), "é": "ü"}
    return NewAssessment(
        id=f"id-{n}", created_at=T0 + timedelta(minutes=n), reference=reference,
        decision=decision, band=band, score=float(n), pack_name="p", pack_version="1",
        pack_digest="sha256:" + "0" * 64, api_key_id=key, idempotency_key=idem,
        body_hash=None if idem is None else "sha256:h", proposal_json='{"title":"t"}',
        assessment_json=json.dumps(doc, ensure_ascii=False, separators=(",", ":")))


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def test_written_records_read_back_byte_for_byte(store: Store) -> None:
    rec = record(1, reference="R")
    store.insert([rec])
    got = store.get("id-1")
    assert got is not None
    assert got.assessment_json == rec.assessment_json
    assert got.proposal == {"title": "t"}
    assert got.created_at == rec.created_at and got.created_at.tzinfo is not None
    assert store.get("missing") is None
    assert store.count() == 1


def test_a_transaction_writes_all_or_nothing(store: Store) -> None:
    store.insert([record(1, idem="x")])
    with pytest.raises(DuplicateIdempotencyKey):
        store.insert([record(2), record(3, idem="x")])
    assert store.count() == 1


def test_idempotency_keys_are_scoped_per_api_key(store: Store) -> None:
    store.insert([record(1, key="a", idem="same"), record(2, key="b", idem="same"),
                  record(3, key="a"), record(4, key="a")])  # no key: never a conflict
    found = store.find_idempotent("b", "same")
    assert found is not None and found.id == "id-2" and found.body_hash == "sha256:h"
    assert store.find_idempotent("c", "same") is None


def test_pages_are_newest_first_and_filtered(store: Store) -> None:
    store.insert([record(n, decision="reject" if n % 2 else "approve",
                         band="critical" if n % 2 else "low",
                         reference="R" if n == 3 else None) for n in range(1, 8)])
    page, nxt = store.page(Filters(), 3)
    assert [r.id for r in page] == ["id-7", "id-6", "id-5"]
    page, nxt = store.page(Filters(), 3, nxt)
    assert [r.id for r in page] == ["id-4", "id-3", "id-2"]
    page, nxt = store.page(Filters(), 3, nxt)
    assert [r.id for r in page] == ["id-1"] and nxt is None
    rejects, _ = store.page(Filters(decision="reject", band="critical"), 10)
    assert [r.id for r in rejects] == ["id-7", "id-5", "id-3", "id-1"]
    window, _ = store.page(Filters(since=T0 + timedelta(minutes=2),
                                   until=T0 + timedelta(minutes=4)), 10)
    assert [r.id for r in window] == ["id-3", "id-2"]
    by_ref, _ = store.page(Filters(reference="R"), 10)
    assert [r.id for r in by_ref] == ["id-3"]
    everything = list(store.iter_all(Filters(), batch=2))
    assert [r.id for r in everything] == [f"id-{n}" for n in range(1, 8)]
    assert [r.id for r in store.iter_all(Filters(decision="approve"))] == ["id-2", "id-4",
                                                                          "id-6"]


def test_cursors_are_opaque_and_checked() -> None:
    assert decode_cursor(encode_cursor(42)) == 42
    for bad in ("", "abc", encode_cursor(1)[:-2] + "!!", "eyJ2IjoxLCJiZWZvcmUiOiJ4In0"):
        with pytest.raises(InvalidQuery):
            decode_cursor(bad)


def test_migrations_are_idempotent(db_url: str) -> None:
    upgrade(db_url)
    assert current(db_url) == head() is not None


def test_unmigrated_database_is_unavailable(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(StoreUnavailable, match="no such table"):
        store.ping()
    store.close()


def test_read_only_database_refuses_writes_with_a_typed_error(sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    store = Store(sqlite_url)
    store.insert([record(1)])  # turns WAL on while writable
    store.close()
    ro = Store(f"sqlite:///file:{path}?mode=ro&uri=true")
    ro.ping()
    assert ro.get("id-1") is not None
    with pytest.raises(StoreUnavailable, match=r"readonly|read-only"):
        ro.ping(write=True)
    with pytest.raises(StoreUnavailable, match=r"readonly|read-only"):
        ro.insert([record(2)])
    ro.close()


def test_unreachable_postgres_is_unavailable() -> None:
    store = Store("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailable, match="assessment store unavailable"):
        store.ping()
    with pytest.raises(StoreUnavailable):
        store.insert([record(1)])
    store.close()
    with pytest.raises(StoreUnavailable):
        upgrade("postgresql://nobody@127.0.0.1:1/none")
