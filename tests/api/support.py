"""Shared test data of the API tests: keys per role, the fixture pack, proposal builders."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from api.auth import ApiKey, generate_key, hash_key

FIXTURES = Path(__file__).parent / "fixtures"
PACK_DIR = FIXTURES / "pack"
PG_ENV = "RISKRULES_TEST_DATABASE_URL"

# One key per role, plus one holding every role.
TOKENS: dict[str, str] = {name: generate_key() for name in
                          ("submitter", "auditor", "admin", "all", "submitter2", "reviewer",
                           "reviewer2")}
KEYS: list[ApiKey] = [
    ApiKey("submitter", hash_key(TOKENS["submitter"]), frozenset({"submitter"})),
    ApiKey("submitter2", hash_key(TOKENS["submitter2"]), frozenset({"submitter"})),
    ApiKey("auditor", hash_key(TOKENS["auditor"]), frozenset({"auditor"})),
    ApiKey("admin", hash_key(TOKENS["admin"]), frozenset({"admin"})),
    ApiKey("all", hash_key(TOKENS["all"]), frozenset({"submitter", "auditor", "admin"})),
    ApiKey("reviewer", hash_key(TOKENS["reviewer"]), frozenset({"reviewer", "auditor"})),
    ApiKey("reviewer2", hash_key(TOKENS["reviewer2"]), frozenset({"reviewer"})),
]


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


BASE_PROPOSAL: dict[str, Any] = {
    "reference": "PRJ-1",
    "title": "Launch services with a domestic partner",
    "initiator": {"name": "Orbital Dynamics Inc.", "country": "US", "type": "private_company"},
    "counterparties": [{"name": "Acme Launch", "country": "US", "type": "private_company"}],
    "deal": {"type": "launch_services"},
    "sectors": ["space"],
}


def proposal(country: str = "US", reference: str | None = "PRJ-1", **extra: Any) -> dict[str, Any]:
    """A valid proposal; the fixture pack scores RU/CN 50 (escalate), KP reject, US 0 (approve)."""
    doc = copy.deepcopy(BASE_PROPOSAL)
    doc["counterparties"][0]["country"] = country
    if reference is None:
        doc.pop("reference")
    else:
        doc["reference"] = reference
    doc.update(extra)
    return doc
