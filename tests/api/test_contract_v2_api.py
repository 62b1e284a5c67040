"""Contract 2.0 over HTTP on the bundled pack: bad ownership graphs, licences and subdivisions
are 422s naming the field, nothing is stored; every role may sit in an occupied region."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import AppFactory
from tests.api.support import auth

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
BASE: dict[str, Any] = {
    "title": "Components for a Gulf distributor",
    "initiator": {"name": "Orbital Dynamics Inc.", "country": "US", "type": "private_company"},
    "counterparties": [{"name": "Gulf Components FZE", "country": "AE",
                        "type": "private_company"}],
    "deal": {"type": "supply_agreement"},
    "sectors": ["manufacturing"],
}


def _with(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(copy.deepcopy(changes))
    return doc


def _deep(levels: int) -> dict[str, Any]:
    owner: dict[str, Any] = {"name": f"L{levels}", "country": "AE", "percent": 100}
    for level in range(levels - 1, 0, -1):
        owner = {"name": f"L{level}", "country": "AE", "percent": 100, "owners": [owner]}
    return owner


CP = BASE["counterparties"][0]
BAD = [
    ("a cycle", _with(counterparties=[{**CP, "owners": [
        {"name": "Holding", "country": "CY", "percent": 100, "owners": [
            {"name": "gulf components  fze", "country": "AE", "percent": 100}]}]}]),
     "counterparties[0].owners[0].owners[0]"),
    ("holdings over 100 %", _with(counterparties=[{**CP, "owners": [
        {"name": "A", "country": "AE", "percent": 70},
        {"name": "B", "country": "AE", "percent": 40}]}]),
     "counterparties[0].owners"),
    ("ownership deeper than 8 levels", _with(counterparties=[{**CP, "owners": [_deep(9)]}]),
     "counterparties[0]" + ".owners[0]" * 8 + ".owners"),
    ("an unknown subdivision", _with(counterparties=[{**CP, "subdivision": "UA-99"}]),
     "counterparties[0].subdivision"),
    ("a licence valid until before it starts", _with(licences=[
        {"regime": "ear", "number": "D1", "items": ["x"], "parties": ["Gulf Components FZE"],
         "valid_from": "2026-06-01", "valid_until": "2026-01-01"}]),
     "licences[0].valid_until"),
    ("a malformed owner", _with(counterparties=[{**CP, "owners": [{"percent": "half"}]}]),
     "counterparties[0].owners[0].percent"),
    ("derived ownership sent by the client", _with(counterparties=[
        {**CP, "ownership": {"ofac_blocked": False}}]), "counterparties[0].ownership"),
]


@pytest.mark.parametrize(("case", "proposal", "path"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_stored(
        make_app: AppFactory, case: str, proposal: dict[str, Any], path: str) -> None:
    client = make_app(RULES_DIR=str(RULES)).test_client()
    answer = client.post("/v1/assessments", json=proposal, headers=auth("submitter"))
    assert answer.status_code == 422, answer.json
    assert path in [e["path"] for e in answer.json["errors"]], answer.json["errors"]
    listed = client.get("/v1/assessments", headers=auth("auditor")).json
    assert listed["items"] == []


def test_every_subdivision_of_occupied_ukraine_is_accepted_for_every_role(
        make_app: AppFactory) -> None:
    client = make_app(RULES_DIR=str(RULES)).test_client()
    regions = ["UA-43", "UA-40", "UA-14", "UA-09", "UA-23", "UA-65"]
    party = {"name": "Port Services", "country": "UA", "type": "private_company"}
    proposal = _with(
        counterparties=[{**party, "subdivision": r} for r in regions],
        end_users=[{**party, "subdivision": "UA-43"}],
        consignees=[{**party, "subdivision": "UA-40"}],
        intermediaries=[{**party, "subdivision": "UA-14",
                         "owners": [{"name": "O", "country": "UA", "subdivision": "UA-09"}]}],
        payments={"legs": [{"originator_bank": {"name": "Bank", "country": "UA",
                                                "subdivision": "UA-23", "bic": "ABCDUAUK"}}],
                  "crypto_providers": [{"name": "X", "country": "UA",
                                        "subdivision": "UA-65"}]})
    answer = client.post("/v1/assessments", json=proposal, headers=auth("submitter"))
    assert answer.status_code == 201, answer.json
