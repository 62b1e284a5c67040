"""The analysts' field reference: every field of a pack's contract with its type, bounds,
description and example, and the rules that read it (`riskrules fields`, docs/fields.md).

One table per object type: the proposal itself, then each named type of the contract (party,
owner, ...), so that a type nesting itself (an owner's owners) is described once. A rule
that reads `counterparties[].owners[].country` is listed under `owner.country`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from engine.language import syntax
from engine.language.contract import Contract, FieldSpec, Kind

Entry = tuple[str, str]  # (section: the object type's name, field path inside it)


def exact_reads(cond: syntax.Condition, prefix: str = "") -> set[str]:
    """The field paths a condition tests (pattern form, `counterparties[].country`), without
    their ancestors; a quantifier reads its list."""
    if isinstance(cond, syntax.Leaf):
        tail = ".".join(cond.path)
        return {f"{prefix}.{tail}" if prefix and tail else prefix or tail}
    if isinstance(cond, syntax.Quantifier):
        tail = ".".join(cond.path)
        where = f"{prefix}.{tail}" if prefix else tail
        return {where} | exact_reads(cond.condition, f"{where}[]")
    if isinstance(cond, syntax.Not):
        return exact_reads(cond.item, prefix)
    out: set[str] = set()
    for item in cond.items:
        out |= exact_reads(item, prefix)
    return out


def locate(contract: Contract, pattern: str) -> Entry | None:
    """The (type, field) a pattern path lands on: the nearest named object type containing
    the field, and the field's path inside it."""
    spec = contract.root
    section, inside = "proposal", ""
    for step in pattern.split("."):
        name = step.removesuffix("[]")
        if spec.kind is not Kind.OBJECT or name not in spec.fields:
            return None
        if spec.name and spec is not contract.root and spec.name in contract.types:
            section, inside = spec.name, ""
        inside = f"{inside}.{name}" if inside else name
        spec = spec.fields[name]
        if step.endswith("[]"):
            if spec.kind is not Kind.LIST or spec.item is None:
                return None
            inside += "[]"
            spec = spec.item
    return section, inside.removesuffix("[]")


def readers(contract: Contract, rules: Iterable[syntax.Rule]) -> dict[Entry, list[str]]:
    out: dict[Entry, list[str]] = {}
    for rule in rules:
        for pattern in sorted(exact_reads(rule.when)):
            entry = locate(contract, pattern)
            if entry is not None and rule.id not in out.setdefault(entry, []):
                out[entry].append(rule.id)
    return out


def type_text(spec: FieldSpec) -> str:
    """A field's type as a reader sees it: `list of party (1-50)`, `number 0-100`."""
    kind = spec.kind
    if kind is Kind.LIST and spec.item is not None:
        inner = type_text(spec.item)
        bounds = _bounds(spec.min_length, spec.max_length)
        return f"list of {inner}{f' ({bounds} items)' if bounds else ''}"
    if kind is Kind.OBJECT:
        return spec.name if spec.name and spec.name != "proposal" else "object"
    if kind is Kind.ENUM:
        values = ", ".join(f"`{c}`" for c in spec.choices)
        return f"{spec.name or 'enum'}: {values}"
    if kind is Kind.STRING:
        bounds = _bounds(spec.min_length, spec.max_length)
        return f"string{f' ({bounds} characters)' if bounds else ''}"
    if kind.is_numeric:
        bounds = _bounds(spec.minimum, spec.maximum)
        return f"{kind.value}{f' {bounds}' if bounds else ''}"
    names: dict[Kind, str] = {Kind.COUNTRY: "country (ISO 3166-1 alpha-2)",
                              Kind.SUBDIVISION: "subdivision (ISO 3166-2)",
                              Kind.CURRENCY: "currency (ISO 4217 or crypto ticker)",
                              Kind.DATE: "date (YYYY-MM-DD)"}
    return names.get(kind, str(kind.value))


def _bounds(lo: float | None, hi: float | None) -> str:
    def fmt(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else str(v)

    if lo is not None and hi is not None:
        return f"{fmt(lo)}-{fmt(hi)}"
    if lo is not None:
        return f">= {fmt(lo)}"
    if hi is not None:
        return f"<= {fmt(hi)}"
    return ""


def _rows(spec: FieldSpec, prefix: str, contract: Contract) -> list[tuple[str, FieldSpec]]:
    """The fields of an object, inline objects expanded (named types are their own section)."""
    out: list[tuple[str, FieldSpec]] = []
    for name, sub in spec.fields.items():
        path = f"{prefix}{name}"
        out.append((path, sub))
        inner = sub.item if sub.kind is Kind.LIST and sub.item is not None else sub
        if inner.kind is Kind.OBJECT and not (inner.name and inner.name in contract.types):
            out += _rows(inner, f"{path}{'[]' if inner is not sub else ''}.", contract)
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference(contract: Contract, rules: Sequence[syntax.Rule], pack_name: str = "") -> str:
    """The field reference as Markdown."""
    read = readers(contract, rules)
    lines = [f"# Proposal fields{f' of {pack_name}' if pack_name else ''}", "",
             "<!-- generated by `riskrules fields --output docs/fields.md`: edit the pack's "
             "contract.yaml, not this file -->", "",
             f"Contract version **{contract.version}**. {contract.description}".rstrip(), "",
             "Each table lists an object's fields: type and bounds, whether a proposal must "
             "give it, what it means, an example, and the rules that read it. Fields marked "
             "*derived* are computed by the engine before the rules run and are refused from "
             "clients.", ""]
    sections = [("proposal", contract.root)] + [
        (name, spec) for name, spec in contract.types.items() if spec.kind is Kind.OBJECT]
    for section, spec in sections:
        title = "The proposal" if section == "proposal" else f"`{section}`"
        lines += [f"## {title}", ""]
        if spec.description and section != "proposal":
            lines += [spec.description, ""]
        lines += ["| field | type | required | description | example | read by |",
                  "|---|---|---|---|---|---|"]
        for path, sub in _rows(spec, "", contract):
            example = "" if sub.example is None else \
                f"`{json.dumps(sub.example, ensure_ascii=False)}`"
            required = "yes" if sub.required else ""
            description = sub.description
            if sub.derived:
                description = f"*derived* — {description}" if description else "*derived*"
            if sub.default is not None:
                description += f" (default `{sub.default}`)"
            rules_text = ", ".join(read.get((section, path), []))
            lines.append(f"| `{path}` | {_cell(type_text(sub))} | {required} | "
                         f"{_cell(description)} | {_cell(example)} | {rules_text} |")
        lines.append("")
    if contract.derivations:
        lines += ["## Derived facts", "",
                  "Computed by the engine before matching; rules read them like any field.", "",
                  "| derivation | what it computes | fields |", "|---|---|---|"]
        for d in contract.derivations:
            lines.append(f"| `{d.name}` | {_cell(d.description)} | "
                         f"{', '.join(f'`{f}`' for f in d.fields)} |")
        lines.append("")
    return "\n".join(lines)
