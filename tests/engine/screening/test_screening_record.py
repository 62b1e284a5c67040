"""The screening record of an assessment, the watchlist lifecycle checks of a pack, and the
on-disk index cache."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import PackError, load_pack
from engine.pack import Pack, index_cache_dir

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "crypto-rail-sberbank.json"


def proposal_with(name: str, *, owner: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["counterparties"][0]["name"] = name
    data["counterparties"][0].pop("aliases", None)
    if owner is not None:
        data["counterparties"][0]["owners"] = [{"name": owner, "country": "RU", "percent": 60}]
    return data


@pytest.fixture(scope="module")
def bundled() -> Iterator[Pack]:
    pack = load_pack(REPO / "rules")
    yield pack
    pack.close()


def test_a_match_is_recorded_and_the_knockout_points_to_it(bundled: Pack) -> None:
    doc = bundled.assess(proposal_with("VТВ Bank")).to_dict()  # Cyrillic Т and В
    record = doc["screening"]
    assert record["threshold"] == 88 and record["possible_at"] == 75
    listed = next(w for w in record["lists"] if w["name"] == "sdn_sample")
    assert (listed["name"], listed["entries"], listed["sample"]) == ("sdn_sample", 43, True)
    assert listed["digest"].startswith("sha256:") and listed["as_of"] == "2026-11-25"
    party = next(p for p in record["parties"] if p["path"] == "counterparties[0]")
    assert (party["role"], party["names"], party["outcome"]) == ("counterparty", ["VТВ Bank"],
                                                                 "match")
    best = party["candidates"][0]
    assert best["entry_id"] == "SAMPLE-002" and best["score"] == 100
    assert best["paired"] == [["vtb", "vtb"], ["bank", "bank"]]
    assert best["programs"] == ["RUSSIA-EO14024", "UKRAINE-EO13662"]
    [knockout] = [k for k in doc["knockouts"] if k["rule"] == "KO-001"]
    pointer = knockout["evidence"][0]["screening_record"]
    index = int(pointer.rsplit("/", 1)[1])
    assert pointer.startswith("/screening/parties/")
    assert record["parties"][index]["path"] == "counterparties[0]"
    assert doc["decision"] == "reject"


def test_a_clear_party_keeps_its_best_near_miss(bundled: Pack) -> None:
    doc = bundled.assess(proposal_with("Central Bank of Russia")).to_dict()
    party = next(p for p in doc["screening"]["parties"] if p["path"] == "counterparties[0]")
    assert party["outcome"] == "clear"
    assert party["candidates"] and party["candidates"][0]["score"] < 75


def test_a_partial_name_is_a_possible_match_that_reaches_review(bundled: Pack) -> None:
    doc = bundled.assess(proposal_with("VTB Bank (PJSC) Shanghai Branch")).to_dict()
    party = next(p for p in doc["screening"]["parties"] if p["path"] == "counterparties[0]")
    assert party["outcome"] == "possible" and party["candidates"][0]["basis"] == "partial"
    assert "SE-008" in {r["rule"] for f in doc["factors"] for r in f["rules"]}
    assert doc["decision"] != "approve"


def test_owners_are_screened_with_their_path(bundled: Pack) -> None:
    doc = bundled.assess(proposal_with("Orbital Parts LLC", owner="Arkadii Rotenberg")).to_dict()
    owner = next(p for p in doc["screening"]["parties"]
                 if p["path"] == "counterparties[0].owners[0]")
    assert (owner["role"], owner["outcome"]) == ("owner", "match")
    assert owner["candidates"][0]["entry_id"] == "SAMPLE-032"


def test_the_summary_says_a_sample_list_was_used(bundled: Pack) -> None:
    doc = bundled.assess(proposal_with("Orbital Parts LLC")).to_dict()
    assert doc["screening"]["sample"] is True
    assert "screening used sample watchlist data (sdn_sample" in doc["summary"]


# -- lifecycle --------------------------------------------------------------------------------


def pack_copy(tmp_path: Path, screening: str, watchlist: str | None = None) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(REPO / "rules", root)
    text = (root / "pack.yaml").read_text(encoding="utf-8")
    head, _, _ = text.partition("\nscreening:")
    (root / "pack.yaml").write_text(head + "\nscreening:\n" + screening, encoding="utf-8")
    if watchlist is not None:
        (root / "watchlists" / "sdn_sample.yaml").write_text(watchlist, encoding="utf-8")
    return root


def codes(root: Path) -> list[str]:
    try:
        pack = load_pack(root)
    except PackError as exc:
        return sorted(d.code for d in exc.diagnostics)
    pack.close()
    return sorted(d.code for d in pack.diagnostics)


LISTS = "  watchlists:\n    - watchlists/sdn_sample.yaml\n"


def test_a_sample_list_is_a_warning_and_an_error_in_production(tmp_path: Path) -> None:
    assert "W040" in codes(pack_copy(tmp_path / "a", "  threshold: 88\n" + LISTS))
    assert "E042" in codes(pack_copy(tmp_path / "b", "  threshold: 88\n  production: true\n"
                                     + LISTS))


def test_a_stale_list_is_a_warning_and_an_error_in_production(tmp_path: Path) -> None:
    age = (dt.date.today() - dt.date(2026, 11, 25)).days
    old = max(1, age - 1) if age > 1 else None
    if old is None:  # the sample is at most a day old: give it an older date
        sample = (REPO / "rules" / "watchlists" / "sdn_sample.yaml").read_text(encoding="utf-8")
        watchlist = sample.replace("as_of: 2026-11-25", "as_of: 2020-01-01")
        old = 30
    else:
        watchlist = None
    warn = pack_copy(tmp_path / "a", f"  threshold: 88\n  max_age_days: {old}\n" + LISTS,
                     watchlist)
    assert "W041" in codes(warn)
    refuse = pack_copy(tmp_path / "b", f"  threshold: 88\n  max_age_days: {old}\n"
                       "  production: true\n" + LISTS, watchlist)
    assert "E043" in codes(refuse)
    fresh = pack_copy(tmp_path / "c", "  threshold: 88\n  max_age_days: 100000\n" + LISTS)
    assert "W041" not in codes(fresh)


def test_an_empty_list_is_an_error(tmp_path: Path) -> None:
    empty = "name: sdn_sample\nas_of: 2026-11-25\nentries: []\n"
    assert "E041" in codes(pack_copy(tmp_path, "  threshold: 88\n" + LISTS, empty))


def test_max_age_days_must_be_a_positive_whole_number(tmp_path: Path) -> None:
    assert "E030" in codes(pack_copy(tmp_path, "  threshold: 88\n  max_age_days: 0\n" + LISTS))


# -- the index cache ----------------------------------------------------------------------------


def test_the_index_cache_is_used_and_rebuilt_when_a_list_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("RISKRULES_INDEX_CACHE_DIR", str(cache))
    root = pack_copy(tmp_path, "  threshold: 88\n" + LISTS)
    first = load_pack(root)
    first.close()
    [stored] = list(cache.glob("*.index"))
    # Same bytes: read from the cache (a corrupt cache entry would be ignored and rebuilt).
    second = load_pack(root)
    assert second.screener.screen(["VTB Bank"]).entry_id == "SAMPLE-002"
    second.close()
    assert list(cache.glob("*.index")) == [stored]
    stored.write_bytes(b"not marshal data")
    third = load_pack(root)
    assert third.screener.screen(["VTB Bank"]).entry_id == "SAMPLE-002"
    third.close()
    # A changed list gets a new key and a new index.
    path = root / "watchlists" / "sdn_sample.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "VTB BANK PUBLIC JOINT STOCK COMPANY", "VTB BANK PUBLIC JOINT STOCK COMPANY RENAMED"),
        encoding="utf-8")
    fourth = load_pack(root)
    assert fourth.screener.screen(["VTB Bank"]).best.entry.endswith("RENAMED")
    fourth.close()
    assert len(list(cache.glob("*.index"))) == 2


def test_a_cache_directory_others_can_write_is_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("RISKRULES_INDEX_CACHE_DIR", str(shared))
    assert index_cache_dir() is None
    monkeypatch.setenv("RISKRULES_INDEX_CACHE_DIR", "off")
    assert index_cache_dir() is None


def test_the_bundled_packs_evidence_carries_no_implied_guard(bundled: Pack) -> None:
    """NS-027 and KO-018 guard their list tests with `exists`: the evidence shows the tests
    that decided, not the whole lists the guards looked at."""
    data = json.loads((REPO / "examples" / "evasion-correspondent-vtb-lookalike.json")
                      .read_text(encoding="utf-8"))
    doc = bundled.assess(data, as_of=dt.date(2026, 11, 27)).to_dict()
    hits = {r["rule"]: r["evidence"] for f in doc["factors"] for r in f["rules"]}
    assert [(e["path"], e["test"]) for e in hits["NS-027"]] == [
        ("technologies[0].hs_code", "matches (84|85|90)[0-9]{4}"),
        ("counterparties[0].country", "in list transshipment_hubs")]
    [blocked] = hits["KO-018"]
    assert blocked["path"] == "payments.legs[0].correspondents[0].ownership.ofac_blocked"
    pointer = blocked["screening_record"]
    party = doc["screening"]["parties"][int(pointer.rsplit("/", 1)[1])]
    assert party["path"] == "payments.legs[0].correspondents[0]"
    assert party["candidates"][0]["entry_id"] == "SAMPLE-002"
