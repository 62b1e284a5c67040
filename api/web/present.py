"""What the workbench pages show, worked out from the assessment document and the loaded pack.

Plain data for the templates: the factor waterfall's numbers (raw points, the clamp at 100,
what each mitigation took away, residual, weight, contribution), rule conditions in words,
links in legal texts, a proposal flattened into readable rows, and the impact report's
matrices. Nothing here renders HTML except `linkify` (escaped text with links).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from engine.language import syntax
from engine.language.operators import OPERATORS, Operand

# Keys of the assessment the page lays out itself; any other key is shown generically.
KNOWN_KEYS = frozenset({"id", "created_at", "reference", "ruleset", "as_of", "inherent_score",
                        "score", "band", "decision", "knockouts", "factors",
                        "missing_information", "summary", "disposition", "what_if",
                        # contract v2: laid out in "How the decision was reached"
                        "band_decision", "floors", "provisional", "unsettled",
                        "checked_clear",
                        # the screening record: laid out in "Screening"
                        "screening"})
_URL = re.compile(r"https?://[^\s<>\"')\]]+[^\s<>\"')\].,;:]")



def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def show(value: Any) -> str:
    """A JSON value as a reader sees it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def linkify(text: Any) -> Markup:
    """Escaped text with every http(s) URL made a link."""
    if text is None:
        return Markup("")
    source = str(text)
    out: list[str] = []
    last = 0
    for match in _URL.finditer(source):
        out.append(str(escape(source[last:match.start()])))
        url = match.group(0)
        out.append(str(Markup('<a href="{0}" rel="noopener noreferrer">{0}</a>').format(url)))
        last = match.end()
    out.append(str(escape(source[last:])))
    return Markup("".join(out))  # noqa: S704 (every piece escaped above)


def _cents(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------------
# conditions in words


def condition_words(cond: syntax.Condition) -> dict[str, Any]:
    """A condition as nested {text, children} for the templates."""
    if isinstance(cond, syntax.Leaf):
        path = ".".join(cond.path) or "the item"
        operator = OPERATORS[cond.op]
        op = operator.phrase
        if operator.operand is Operand.PATH:
            return {"text": f"{path} {op}", "children": []}
        if operator.operand is Operand.LIST_NAME:
            return {"text": f"{path} {op} {cond.list_name}", "children": []}
        if cond.values:
            shown = ", ".join(show(v) for v in cond.values[:12])
            more = f" (+{len(cond.values) - 12} more)" if len(cond.values) > 12 else ""
            return {"text": f"{path} {op} {shown}{more}", "children": []}
        return {"text": f"{path} {op} {show(cond.value)}", "children": []}
    if isinstance(cond, syntax.All):
        return {"text": "all of:", "children": [condition_words(c) for c in cond.items]}
    if isinstance(cond, syntax.Any):
        return {"text": "any of:", "children": [condition_words(c) for c in cond.items]}
    if isinstance(cond, syntax.Not):
        return {"text": "not:", "children": [condition_words(cond.item)]}
    if isinstance(cond, syntax.Quantifier):
        path = ".".join(cond.path)
        head = (f"some item of {path} where" if cond.kind == "some"
                else f"every item of {path} (none counts as every) where")
        return {"text": head, "children": [condition_words(cond.condition)]}
    return {"text": str(cond), "children": []}


def rule_view(rule: Any, pack: Any = None) -> dict[str, Any]:
    """A rule of the pack for the rule browser."""
    view = {
        "id": rule.id, "title": rule.title, "factor": rule.factor,
        "kind": getattr(rule.kind, "value", rule.kind), "points": rule.points,
        "rationale": getattr(rule, "rationale", ""), "source": getattr(rule, "source", ""),
        "enabled": getattr(rule, "enabled", True), "tags": list(getattr(rule, "tags", ())),
        "effective_from": getattr(rule, "effective_from", None),
        "effective_until": getattr(rule, "effective_until", None),
        "position": getattr(rule, "pos", None),
        "condition": condition_words(rule.when) if hasattr(rule, "when") else None,
        "legal_basis": legal_basis([b.to_dict() if hasattr(b, "to_dict") else b
                                    for b in getattr(rule, "legal_basis", ()) or ()]),
        "at_least": getattr(rule, "at_least", None),
    }
    return view


def legal_basis(items: Any) -> list[dict[str, Any]]:
    """Legal-basis entries with a link only where the URL is http(s)."""
    out = []
    for item in items if isinstance(items, list | tuple) else ():
        if not isinstance(item, dict):
            continue
        url = item.get("url")
        out.append({"instrument": item.get("instrument") or "", "provision":
                    item.get("provision") or "", "as_of": item.get("as_of"),
                    "url": url if isinstance(url, str) and _URL.fullmatch(url) else None})
    return out


# ---------------------------------------------------------------------------------------------
# the assessment


def fired_rule_ids(doc: dict[str, Any]) -> Iterator[str]:
    seen: set[str] = set()
    for factor in doc.get("factors") or ():
        for hit in factor.get("rules") or ():
            rule_id = hit.get("rule")
            if isinstance(rule_id, str) and rule_id not in seen:
                seen.add(rule_id)
                yield rule_id
    for hit in doc.get("knockouts") or ():
        rule_id = hit.get("rule")
        if isinstance(rule_id, str) and rule_id not in seen:
            seen.add(rule_id)
            yield rule_id


def factor_waterfall(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Per factor: the risk points as fired, the clamp at 100, each mitigation's nominal points
    and what it actually took away (the residual is floored at 0), residual, weight, share."""
    factors = doc.get("factors") or []
    total_weight = sum(_cents(f.get("weight")) for f in factors) or Decimal(1)
    out: list[dict[str, Any]] = []
    for f in factors:
        hits = f.get("rules") or []
        risks = [h for h in hits if h.get("kind") != "mitigation"]
        reliefs = [h for h in hits if h.get("kind") == "mitigation"]
        raw = sum((_cents(h.get("points")) for h in risks), Decimal(0))
        inherent = _cents(f.get("inherent_score", max(Decimal(0), min(Decimal(100), raw))))
        running = inherent
        steps = []
        for h in reliefs:
            nominal = _cents(h.get("points"))
            taken = min(running, -nominal) if nominal < 0 else Decimal(0)
            running -= taken
            steps.append({"rule": h.get("rule"), "title": h.get("title"), "nominal": nominal,
                          "taken": taken})
        weight = _cents(f.get("weight"))
        out.append({
            "factor": f.get("factor"), "label": f.get("label") or f.get("factor"),
            "risks": [{"rule": h.get("rule"), "title": h.get("title"),
                       "points": _cents(h.get("points")), "kind": h.get("kind")}
                      for h in risks],
            "raw": raw, "clamped": max(Decimal(0), raw - Decimal(100)),
            "inherent": inherent, "mitigations": steps, "residual": _cents(f.get("score")),
            "weight": weight, "share": (weight * 100 / total_weight).quantize(Decimal("0.1")),
            "contribution": _cents(f.get("contribution")),
        })
    return out


def assessment_view(doc: dict[str, Any], pack: Any = None) -> dict[str, Any]:
    """Everything the assessment section needs beyond the document itself."""
    rules_by_id = {} if pack is None else {r.id: r for r in pack.rules}
    fired = []
    for factor in doc.get("factors") or []:
        for hit in factor.get("rules") or []:
            rule = rules_by_id.get(hit.get("rule"))
            fired.append({"hit": hit, "factor": factor.get("label") or factor.get("factor"),
                          "condition": condition_words(rule.when) if rule is not None else None,
                          "legal_basis": legal_basis(hit.get("legal_basis")),
                          "extra": {k: v for k, v in hit.items() if k not in (
                              "rule", "title", "kind", "factor", "points", "rationale",
                              "source", "evidence", "legal_basis")}})
    contributions = sum((_cents(f.get("contribution")) for f in doc.get("factors") or []),
                        Decimal(0))
    other = {k: v for k, v in doc.items() if k not in KNOWN_KEYS}
    return {"waterfall": factor_waterfall(doc), "fired": fired,
            "contributions_total": contributions, "other": other,
            "pack_matches": pack is not None and (doc.get("ruleset") or {}).get("digest")
            == getattr(pack, "digest", None)}


def screening_anchor(pointer: Any) -> str | None:
    """`/screening/parties/2` (an evidence item's `screening_record`) → `screening-party-2`."""
    if isinstance(pointer, str):
        found = re.fullmatch(r"/screening/parties/(\d+)", pointer)
        if found:
            return f"screening-party-{found.group(1)}"
    return None


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A JSON document as (path, value) rows: `counterparties[0].country`, `RU`."""
    rows: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, sub in value.items():
            rows += flatten(sub, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for index, sub in enumerate(value):
            rows += flatten(sub, f"{prefix}[{index}]")
    else:
        rows.append((prefix or "$", show(value)))
    return rows


# ---------------------------------------------------------------------------------------------
# impact report


def impact_view(report: Any) -> dict[str, Any]:
    """Check the shape of a `riskrules diff --format json` document; ValueError if it is not."""
    if not isinstance(report, dict) or not isinstance(report.get("decisions"), dict) \
            or not isinstance(report.get("bands"), dict):
        raise ValueError("This is not a `riskrules diff --format json` report (no decision "
                         "and band matrices).")
    matrices = {}
    for name in ("decisions", "bands"):
        matrix = report[name]
        labels = matrix.get("labels")
        counts = matrix.get("counts")
        if not isinstance(labels, list) or not isinstance(counts, dict):
            raise ValueError(f"The {name} matrix has no labels or counts.")
        matrices[name] = {"labels": [str(x) for x in labels], "counts": counts,
                          "changed": matrix.get("changed")}
    changed = report.get("changed") if isinstance(report.get("changed"), list) else []
    return {"base": report.get("base") or {}, "head": report.get("head") or {},
            "as_of": report.get("as_of"), "proposals": report.get("proposals") or {},
            "matrices": matrices, "changed": changed,
            "rules": report.get("rules") if isinstance(report.get("rules"), list) else [],
            "pack_changes": report.get("pack_changes")
            if isinstance(report.get("pack_changes"), list) else [],
            "score_deltas": report.get("score_deltas") or {}}
