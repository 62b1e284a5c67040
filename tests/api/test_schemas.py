"""The proposal schema is generated from the pack's contract; the engine's validation reports
every error with its path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from marshmallow import fields, validate

from api.schemas import (
    AssessmentQuerySchema,
    field_errors,
    load_query,
    proposal_schema_class,
)
from engine.errors import ProposalError
from engine.language.contract import FieldSpec, Kind
from tests.api.support import proposal
from tests.bundled import BUNDLED
from tests.bundled import validate as validate_proposal

SPEC_EXAMPLE: dict[str, Any] = {
    "reference": "PRJ-2026-0042",
    "title": "Joint reusable-launch programme with a state space agency",
    "initiator": {"name": "Orbital Dynamics Inc.", "country": "US", "type": "private_company"},
    "counterparties": [
        {"name": "Roscosmos", "country": "RU", "type": "state_agency", "state_owned": True,
         "aliases": ["Роскосмос", "State Space Corporation Roscosmos"]}],
    "deal": {"type": "joint_venture", "value": {"amount": 450000000, "currency": "USD"},
             "duration_months": 60, "jurisdictions": ["RU", "AE"]},
    "sectors": ["space", "launch_vehicles"],
    "technologies": [{"name": "reusable first stage", "category": "launch_vehicles",
                      "export_control": "itar"}],
    "technology_transfer": "substantial",
    "payments": {"currencies": ["RUB", "USDT"], "rails": ["crypto", "spfs"], "usd_share": 0.0},
    "public_profile": "high",
    "mitigations": ["board_approval"],
}


def errors_of(data: Any) -> dict[str, str]:
    with pytest.raises(ProposalError) as caught:
        validate_proposal(data)
    return {e.path: e.message for e in caught.value.errors}


def test_the_spec_example_is_valid() -> None:
    validate_proposal(SPEC_EXAMPLE)


def _walk(spec: FieldSpec, field: fields.Field, path: str,  # type: ignore[type-arg]
          types: frozenset[int] = frozenset()) -> list[str]:
    """Compare one contract field with its generated marshmallow field; returns the paths seen
    (a type nesting itself, an owner's owners, is compared once)."""
    seen = [path]
    assert field.required is spec.required, path
    validators = list(field.validators)
    if spec.kind is Kind.ENUM:
        one_of = [v for v in validators if isinstance(v, validate.OneOf)]
        assert one_of and tuple(one_of[0].choices) == spec.choices, path
    if spec.minimum is not None or spec.maximum is not None:
        ranges = [v for v in validators if isinstance(v, validate.Range)]
        assert ranges and (ranges[0].min, ranges[0].max) == (spec.minimum, spec.maximum), path
    if spec.min_length is not None or spec.max_length is not None:
        lengths = [v for v in validators if isinstance(v, validate.Length)]
        assert lengths and (lengths[0].min, lengths[0].max) == (spec.min_length,
                                                                spec.max_length), path
    if spec.derived:
        return seen
    if spec.kind is Kind.OBJECT:
        assert isinstance(field, fields.Nested), path
        if id(spec.fields) in types:
            return seen
        nested = field.schema
        assert set(nested.fields) == set(spec.fields), path
        for name, sub in spec.fields.items():
            seen += _walk(sub, nested.fields[name], f"{path}.{name}", types | {id(spec.fields)})
    elif spec.kind is Kind.LIST:
        assert isinstance(field, fields.List) and spec.item is not None, path
        seen += _walk(spec.item, field.inner, f"{path}[]", types)
    return seen


def test_every_contract_field_has_its_constraints_in_the_schema() -> None:
    schema = proposal_schema_class(BUNDLED.root)()
    assert set(schema.fields) == set(BUNDLED.root.fields)
    seen: list[str] = []
    for name, spec in BUNDLED.root.fields.items():
        seen += _walk(spec, schema.fields[name], name)
    assert "counterparties[].owners[].country" in seen
    assert "deal.value.currency" in seen


def test_every_error_is_reported_with_its_path() -> None:
    bad = proposal()
    bad["counterparties"][0].update(country="XX", colour="red")
    bad["deal"] = {"type": "joint_venture", "value": {"amount": True, "currency": "usd"},
                   "duration_months": 0}
    bad["sectors"] = ["space", "nope"]
    bad["payments"] = {"usd_share": 2}
    bad["initiator"].pop("name")
    found = errors_of(bad)
    assert set(found) == {
        "counterparties[0].country", "counterparties[0].colour", "deal.value.amount",
        "deal.value.currency", "deal.duration_months", "sectors[1]", "payments.usd_share",
        "initiator.name"}
    assert found["counterparties[0].colour"] == "Unknown field."
    assert "XX" in found["counterparties[0].country"]
    assert found["initiator.name"] == "Missing data for required field."


def test_unknown_fields_are_rejected_at_every_level() -> None:
    bad = proposal(typo=1)
    bad["deal"]["value"] = {"amount": 1, "currency": "USD", "extra": 1}
    bad["counterparties"][0]["owners"] = [{"name": "O", "country": "RU", "shares": 3}]
    assert set(errors_of(bad)) == {"typo", "deal.value.extra",
                                   "counterparties[0].owners[0].shares"}


def test_derived_screening_is_refused_from_clients() -> None:
    bad = proposal()
    bad["initiator"]["screening"] = {"matched": False}
    assert "not accepted from clients" in errors_of(bad)["initiator.screening"]


@pytest.mark.parametrize(("path", "value"), [
    ("deal.duration_months", 12.0),      # integers must be JSON integers
    ("deal.duration_months", "12"),
    ("deal.duration_months", True),
    ("payments.usd_share", "0.5"),
    ("payments.usd_share", False),
    ("counterparties[0].state_owned", 1),
    ("counterparties[0].state_owned", "true"),
    ("title", 5),
    ("title", ""),
    ("title", None),
])
def test_json_types_are_strict(path: str, value: Any) -> None:
    bad = proposal()
    bad.setdefault("payments", {})
    target: Any = bad
    parts = path.replace("[0]", ".0").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[parts[-1]] = value
    assert path in errors_of(bad)


def test_list_lengths_and_currency_tickers() -> None:
    ok = proposal(payments={"currencies": ["USDT", "BTC", "EUR"]})
    validate_proposal(ok)
    found = errors_of(proposal(sectors=[], counterparties=[]))
    assert set(found) == {"sectors", "counterparties"}


@pytest.mark.parametrize("data", [[], "text", 3, None])
def test_a_proposal_must_be_an_object(data: Any) -> None:
    assert set(errors_of(data)) == {"$"}


def test_field_errors_flattens_nested_messages() -> None:
    messages = {"a": {0: {"b": ["x"]}, "_schema": ["whole list"]}, "_schema": ["root"], "c": ["y"]}
    assert [(e.path, e.message) for e in field_errors(messages)] == [
        ("a[0].b", "x"), ("a", "whole list"), ("$", "root"), ("c", "y")]


def test_query_schema_rejects_repeats_unknowns_and_bad_values() -> None:
    from api.errors import InvalidQuery

    with pytest.raises(InvalidQuery) as caught:
        load_query(AssessmentQuerySchema(), {"limit": ["0"], "band": ["x"], "decision": ["a", "b"],
                                             "since": ["yesterday"], "colour": ["red"]})
    assert {e.path for e in caught.value.errors} == {"limit", "band", "decision", "since",
                                                     "colour"}
    loaded = load_query(AssessmentQuerySchema(), {"since": ["2026-01-01T00:00:00Z"]})
    assert loaded["limit"] == 50 and loaded["since"].tzinfo is not None


def test_currency_is_required_with_an_amount() -> None:
    data = {**SPEC_EXAMPLE, "deal": {**SPEC_EXAMPLE["deal"], "value": {"amount": 5}}}
    assert "required when 'amount' is given" in errors_of(data)["deal.value.currency"]
    validate_proposal({**SPEC_EXAMPLE, "deal": {**SPEC_EXAMPLE["deal"], "value": {"currency": "USD"}}})


def test_the_schemas_load_without_flask_or_sqlalchemy() -> None:
    """`riskrules score` and each `diff` worker validate with these schemas: importing them
    must not pull in the web stack (that once cost every worker about 0.3 s)."""
    probe = ("import sys, api.schemas; "
             "print(sorted(m for m in ('flask', 'sqlalchemy', 'werkzeug') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
