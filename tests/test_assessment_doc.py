"""docs/assessment.md describes every key of the assessment response: a key added to the
response schema (api/schemas.py) without a word in the document fails here."""

from __future__ import annotations

from pathlib import Path

from marshmallow import Schema, fields

from api.responses import AssessmentSchema

DOC = Path(__file__).resolve().parents[1] / "docs" / "assessment.md"


def keys(schema: Schema, prefix: str = "") -> list[str]:
    """Every key of `schema`, nested ones included, as dotted paths."""
    out = []
    for name, field in schema.fields.items():
        out.append(prefix + name)
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and isinstance(inner.schema, Schema):
            out.extend(keys(inner.schema, f"{prefix}{name}."))
    return out


def test_every_key_of_the_assessment_is_described() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = keys(AssessmentSchema())
    assert len(found) > 80  # the walk reaches the nested schemas
    undocumented = [path for path in found if f"`{path.rsplit('.', 1)[-1]}`" not in text]
    assert undocumented == []


def test_the_command_lines_own_key_is_described() -> None:
    assert "`source_file`" in DOC.read_text(encoding="utf-8")
