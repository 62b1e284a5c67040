"""The OpenAPI 3.1 document (apispec over api/schemas.py and api/responses.py) and a
self-contained HTML docs page.

Schemas come only from api/schemas.py (requests) and api/responses.py (responses), so the
document cannot drift from what the server validates; paths are declared here, next to the
roles and status codes each one answers.
The docs page is plain HTML generated server-side: no CDN assets (the service may run offline).
"""

from __future__ import annotations

import html
import json
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from api import responses as r
from api import schemas as s

TITLE = "riskrules"
VERSION = "1.0.0"

_STATUS_TEXT = {
    400: "Malformed body or query", 401: "Missing or invalid API key",
    403: "The key lacks the role", 404: "Not found",
    409: "Idempotency-Key reused with a different body", 413: "Body or batch over the limit",
    415: "Not application/json, or a Content-Encoding other than identity",
    422: "Breaks the contract",
    429: "Over the per-key rate limit (see Retry-After)",
    503: "Not ready: no rule pack, or the store is unreachable",
}


def _problem(status: int) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/Problem{status}"}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _op(summary: str, roles: str, ok: dict[int, tuple[str, str]], problems: list[int],
        **extra: Any) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(code): {"description": text, "content": _json(schema)}
        for code, (schema, text) in ok.items()}
    for code in problems:
        responses[str(code)] = _problem(code)
    op: dict[str, Any] = {"summary": summary, "description": f"Role: {roles}.",
                          "responses": responses}
    op.update(extra)
    return op


def _aop_property(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    if isinstance(field, r.AssessmentOrProblem):
        return {"oneOf": [{"$ref": "#/components/schemas/Assessment"},
                          {"$ref": "#/components/schemas/Problem"}]}
    return {}


_SPECS: dict[int, tuple[Any, dict[str, Any]]] = {}


def build_spec(contract: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a pack's contract (`pack.contract`), built once per
    contract: the Proposal schemas come from the pack, so a field added to contract.yaml is in
    the document with no code change."""
    found = _SPECS.get(id(contract))
    if found is not None and found[0] is contract:
        return found[1]
    doc = _build(contract)
    if len(_SPECS) >= 8:
        _SPECS.pop(next(iter(_SPECS)))
    _SPECS[id(contract)] = (contract, doc)
    return doc


def _build(contract: Any) -> dict[str, Any]:
    plugin: Any = MarshmallowPlugin()  # apispec's plugin API is untyped
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.1.0", plugins=[plugin],
                   info={"description": "Risk scoring of technology partnership proposals: "
                                        "explained scores from a declarative rule pack. "
                                        f"Proposal contract version {contract.version}."})
    proposal = s.proposal_schema_class(contract.root)
    assert plugin.converter is not None
    plugin.map_to_openapi_type(s.StrictNumber, "number", None)
    plugin.map_to_openapi_type(s.StrictInteger, "integer", None)
    plugin.map_to_openapi_type(s.StrictBoolean, "boolean", None)
    plugin.map_to_openapi_type(s.Derived, "object", None)
    plugin.converter.add_attribute_function(_aop_property)

    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "an API key"})
    spec.components.schema("Proposal", schema=proposal)
    for name, schema in [
        ("Disposition", r.DispositionSchema), ("WhatIf", r.WhatIfSchema),
        ("Assessment", r.AssessmentSchema), ("Problem", r.ProblemSchema),
        ("BatchRequest", s.BatchRequestSchema), ("BatchResponse", r.BatchResponseSchema),
        ("AssessmentPage", r.AssessmentPageSchema), ("Ruleset", r.RulesetSchema),
        ("Rule", r.RuleSchema), ("RulesPage", r.RulesPageSchema),
        ("ReloadResponse", r.ReloadResponseSchema), ("Health", r.HealthSchema),
        ("DispositionRequest", s.DispositionRequestSchema),
        ("DispositionPage", r.DispositionPageSchema),
    ]:
        spec.components.schema(name, schema=schema)
    for code, text in _STATUS_TEXT.items():
        spec.components.response(f"Problem{code}", {
            "description": text,
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}})

    location = {"Location": {"description": "the assessment's URL",
                             "schema": {"type": "string"}}}
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "description": "same key and body (equal as JSON values): the original answer, "
                           "nothing stored twice; same key, other body: 409. Scoped per API "
                           "key and per endpoint.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                       "pattern": "^[\\x21-\\x7e]{1,255}$"}}
    body = {"required": True, "content": _json("Proposal")}
    create = _op("Score and store one proposal", "submitter (admin holds every role)",
                 {201: ("Assessment", "Scored and stored")},
                 [400, 401, 403, 409, 413, 415, 422, 429, 503],
                 parameters=[idem], requestBody=body, operationId="createAssessment")
    create["responses"]["201"]["headers"] = location
    create["responses"]["200"] = {"description": "Replay of an Idempotency-Key: the original",
                                  "headers": location, "content": _json("Assessment")}
    spec.path("/v1/assessments", operations={
        "post": create,
        "get": _op("List stored assessments, newest first: up to `limit`, and no more than "
                   "MAX_PAGE_BYTES (default 8 MiB) of assessments (at least one); "
                   "`next_cursor` continues", "auditor (every assessment) or submitter (those "
                   "its key created)",
                   {200: ("AssessmentPage", "One page")}, [400, 401, 403, 429, 503],
                   parameters=[{"in": "query", "schema": s.AssessmentQuerySchema}],
                   operationId="listAssessments"),
    })
    spec.path("/v1/assessments:batch", operations={"post": _op(
        "Score and store a batch of proposals (at most RISKRULES_MAX_BATCH, default 1000)",
        "submitter",
        {200: ("BatchResponse", "One result per proposal, in order; valid ones stored "
                                "(a replay of an Idempotency-Key: the original answer)")},
        [400, 401, 403, 409, 413, 415, 422, 429, 503], parameters=[idem],
        requestBody={"required": True, "content": _json("BatchRequest")},
        operationId="createAssessmentBatch")})
    path_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    spec.path("/v1/assessments/{id}", operations={"get": _op(
        "A stored assessment: its creation response, plus `disposition` once a reviewer "
        "recorded one, plus `what_if` on request",
        "auditor or reviewer (any assessment) or submitter (those its key created; another "
        "key's is 404)",
        {200: ("Assessment", "The assessment")}, [400, 401, 403, 404, 429, 503],
        parameters=[path_id, {"in": "query", "schema": s.AssessmentGetQuerySchema}],
        operationId="getAssessment")})
    record = _op("Record a human disposition (append-only: supersedes the previous one); "
                 "four eyes when the pack sets review.four_eyes", "reviewer",
                 {201: ("Disposition", "Recorded")},
                 [400, 401, 403, 404, 409, 413, 415, 422, 429, 503],
                 parameters=[path_id], operationId="createDisposition",
                 requestBody={"required": True, "content": _json("DispositionRequest")})
    record["responses"]["409"] = {
        "description": "Four eyes: the pending approval is the same reviewer's own",
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}}}
    spec.path("/v1/assessments/{id}/dispositions", operations={
        "post": record,
        "get": _op("Every disposition of an assessment, newest first", "auditor or reviewer",
                   {200: ("DispositionPage", "The history")}, [401, 403, 404, 429, 503],
                   parameters=[path_id], operationId="listDispositions"),
    })
    spec.path("/v1/ruleset", operations={"get": _op(
        "The loaded rule pack", "any", {200: ("Ruleset", "The pack")}, [401, 429, 503],
        operationId="getRuleset")})
    spec.path("/v1/rules", operations={"get": _op(
        "The rules as loaded", "any", {200: ("RulesPage", "The rules")}, [400, 401, 429, 503],
        parameters=[{"in": "query", "schema": s.RuleQuerySchema}], operationId="listRules")})
    spec.path("/v1/rules/{id}", operations={"get": _op(
        "One rule", "any", {200: ("Rule", "The rule")}, [401, 404, 429, 503],
        parameters=[{"name": "id", "in": "path", "required": True,
                     "schema": {"type": "string"}}], operationId="getRule")})
    reload_op = _op("Reload the pack from disk", "admin",
                    {200: ("ReloadResponse", "Reloaded")}, [401, 403, 429],
                    operationId="reloadRuleset")
    reload_op["responses"]["422"] = {
        "description": "The pack on disk does not load: its diagnostics as `errors`; the "
                       "previous pack keeps serving",
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}}}
    spec.path("/v1/ruleset:reload", operations={"post": reload_op})
    public: dict[str, Any] = {"security": []}
    spec.path("/healthz", operations={"get": _op(
        "Process alive", "none", {200: ("Health", "Alive")}, [], **public)})
    spec.path("/readyz", operations={"get": _op(
        "Pack loaded and store reachable", "none", {200: ("Health", "Ready")}, [503],
        **public)})
    spec.path("/metrics", operations={"get": {
        "summary": "Prometheus metrics", "security": [], "responses": {"200": {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}}}}}})
    spec.path("/openapi.json", operations={"get": {
        "summary": "This document", "security": [], "responses": {"200": {
            "description": "OpenAPI 3.1", "content": {"application/json": {
                "schema": {"type": "object"}}}}}}})
    doc = spec.to_dict()
    doc["security"] = [{"bearer": []}]
    for name, deps in _co_required(proposal).items():
        doc["components"]["schemas"][name]["dependentRequired"] = deps
    batch = doc["components"]["schemas"]["BatchRequest"]["properties"]["proposals"]
    batch["items"] = {"$ref": "#/components/schemas/Proposal"}
    return doc


def _co_required(root: type[Schema]) -> dict[str, dict[str, list[str]]]:
    """Component name -> JSON Schema `dependentRequired` of every contract object reachable from
    `root` with co-required fields (e.g. DealValue: a `currency` whenever an `amount`), which
    marshmallow enforces in a schema-level validator that apispec cannot see."""
    found: dict[str, dict[str, list[str]]] = {}
    seen: set[type[Schema]] = set()
    stack = [root]
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        together = getattr(cls, "together", ())
        if together:
            found[cls.__name__.removesuffix("Schema")] = {a: [b] for a, b in together}
        for field in cls._declared_fields.values():
            nested = getattr(getattr(field, "inner", field), "nested", None)
            if isinstance(nested, type) and issubclass(nested, Schema):
                stack.append(nested)
    return found


def docs_html(spec: dict[str, Any]) -> str:
    """A readable, self-contained page: every operation, its responses, and every schema."""
    esc = html.escape
    rows: list[str] = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = ", ".join(op.get("responses", {}))
            rows.append(f"<tr><td class=m>{esc(method.upper())}</td><td><code>{esc(path)}"
                        f"</code></td><td>{esc(op.get('summary', ''))}</td>"
                        f"<td>{esc(op.get('description', 'Role: none.'))}</td>"
                        f"<td>{esc(codes)}</td></tr>")
    schemas = "".join(
        f"<h3 id='{esc(name)}'>{esc(name)}</h3><pre>{esc(json.dumps(body, indent=2))}</pre>"
        for name, body in spec["components"]["schemas"].items())
    info = spec["info"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(info['title'])} API</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left;vertical-align:top}}.m{{font-weight:bold}}pre{{background:#f6f6f6;
padding:.6rem;overflow:auto}}</style></head><body>
<h1>{esc(info['title'])} API {esc(info['version'])}</h1>
<p>{esc(info.get('description', ''))}</p>
<p>Authentication: <code>Authorization: Bearer &lt;api key&gt;</code>. Errors are RFC 9457
problem documents (<code>application/problem+json</code>). Machine-readable document:
<a href="/openapi.json">/openapi.json</a>.</p>
<h2>Operations</h2>
<table><tr><th>method</th><th>path</th><th>does</th><th>role</th><th>statuses</th></tr>
{''.join(rows)}</table>
<h2>Schemas</h2>{schemas}
</body></html>"""
