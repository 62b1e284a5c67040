"""The marshmallow schemas of the HTTP API's responses (assessment-v1) and the documents of the
ruleset endpoints.

They document the responses for OpenAPI and the tests; the assessment itself is returned
exactly as the engine produced it (a schema dump would drop fields the project may add).
Request schemas (built from the pack's contract) are `api.schemas`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from api.schemas import DISPOSITION_DECISIONS, RULE_KINDS
from engine.language import syntax
from engine.language.contract import FieldSpec, Kind

# ---------------------------------------------------------------------------------------------
# responses (assessment-v1). Closed (`additionalProperties: false` in the OpenAPI document):
# every key a response holds is declared here. tests/api/test_openapi.py walks real responses
# and fails on any key that is not, so a key added to a response must be declared here too.


class _Closed(Schema):
    class Meta:
        unknown = RAISE


class EvidenceSchema(_Closed):
    """One input value a rule's condition looked at, with the test it passed."""

    path = fields.String(required=True)
    value = fields.Raw(required=True, allow_none=True, metadata={"description": "any JSON value"})
    test = fields.String(required=True)
    screening_record = fields.String(metadata={
        "description": "for evidence read from a party's screening: JSON Pointer to that "
                       "party's screening record in this assessment (/screening/parties/N)"})


class LegalBasisSchema(_Closed):
    """Where the law behind a rule is written, and when that was checked."""

    instrument = fields.String(required=True)
    provision = fields.String(required=True)
    url = fields.String(required=True)
    as_of = fields.String(required=True, metadata={"format": "date"})


class RuleHitSchema(_Closed):
    """A rule that fired, with its points and evidence."""

    rule = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(RULE_KINDS))
    factor = fields.String(required=True, metadata={"description": "the rule's factor"})
    points = fields.Float(required=True, metadata={"description": "signed; mitigations < 0"})
    rationale = fields.String(required=True, allow_none=True)
    source = fields.String(required=True, allow_none=True)
    legal_basis = fields.List(fields.Nested(LegalBasisSchema))
    evidence = fields.List(fields.Nested(EvidenceSchema), required=True)
    at_least = fields.String(validate=validate.OneOf(syntax.FLOOR_DECISIONS), metadata={
        "description": "only on a floor: the decision is at least this when the rule fires"})


class CheckedClearSchema(_Closed):
    """A knockout or floor that was evaluated on the proposal and did not hold."""

    rule = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(RULE_KINDS))
    at_least = fields.String(validate=validate.OneOf(syntax.FLOOR_DECISIONS),
                             metadata={"description": "only on a floor"})


class UnsettledSchema(_Closed):
    """A knockout or floor that did not fire but could once the absent `paths` are given."""

    rule = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(RULE_KINDS))
    decision = fields.String(required=True, validate=validate.OneOf(syntax.DECISIONS), metadata={
        "description": "what the rule would force (knockout) or set as a floor if it fired"})
    paths = fields.List(fields.String(), required=True, metadata={
        "description": "the absent fields that would settle it"})


class FactorScoreSchema(_Closed):
    """One factor of the pack, fired or not, with its share of the overall score."""

    factor = fields.String(required=True)
    label = fields.String(required=True)
    weight = fields.Float(required=True)
    raw_points = fields.Float(metadata={
        "description": "the sum of the points of the factor's fired risk and knockout rules "
                       "before the clamp to 0..100 (115 shows as inherent_score 100); absent in "
                       "assessments stored before it was added"})
    inherent_score = fields.Float(required=True, validate=validate.Range(0, 100),
                                  metadata={"description": "the factor's score before "
                                                           "mitigations"})
    score = fields.Float(required=True, validate=validate.Range(0, 100))
    contribution = fields.Float(required=True)
    rules = fields.List(fields.Nested(RuleHitSchema), required=True)


class MissingInformationSchema(_Closed):
    """A field the proposal left out that some rule needed."""

    path = fields.String(required=True)
    rules = fields.List(fields.String(), required=True)


class RulesetRefSchema(_Closed):
    """The pack an assessment was scored under."""

    name = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True, metadata={"pattern": "^sha256:[0-9a-f]{64}$"})


class DispositionSchema(_Closed):
    """A recorded human disposition (append-only; a new one supersedes the previous)."""

    id = fields.String(required=True)
    assessment_id = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    decision = fields.String(required=True, validate=validate.OneOf(DISPOSITION_DECISIONS))
    status = fields.String(required=True, validate=validate.OneOf(
        ("final", "awaiting_second_approval")), metadata={
            "description": "`awaiting_second_approval`: four eyes, a different reviewer must "
                           "approve too"})
    reason = fields.String(required=True)
    conditions = fields.List(fields.String(), required=True)
    expires_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    reviewer = fields.String(required=True, metadata={"description": "the recording key's id"})
    supersedes = fields.String(required=True, allow_none=True)


class DispositionSummarySchema(_Closed):
    """The `disposition` member of an assessment that a reviewer disposed of."""

    current = fields.Nested(DispositionSchema, required=True)
    effective_decision = fields.String(required=True, allow_none=True, metadata={
        "description": "the human decision in force (null while an approval awaits its "
                       "second reviewer, or once the current disposition has expired)"})
    expired = fields.Boolean(required=True, metadata={
        "description": "the current disposition's expiry day has passed"})
    history = fields.List(fields.Nested(DispositionSchema), required=True,
                          metadata={"description": "newest first"})


class DispositionPageSchema(_Closed):
    """Every disposition of one assessment, newest first."""

    items = fields.List(fields.Nested(DispositionSchema), required=True)


class OutcomeSchema(_Closed):
    """Decision, band and score of a hypothetical assessment."""

    decision = fields.String(required=True)
    band = fields.String(required=True)
    score = fields.Float(required=True)


class TrialSchema(OutcomeSchema):
    """A value tried for a missing field and its outcome."""

    value = fields.Raw(required=True, allow_none=True)


class FieldEffectSchema(_Closed):
    """A missing field: its most lenient (benign) and strictest (adverse) values."""

    path = fields.String(required=True)
    rules = fields.List(fields.String(), required=True)
    decisive = fields.Boolean(required=True)
    benign = fields.Nested(TrialSchema, required=True)
    adverse = fields.Nested(TrialSchema, required=True)
    values_tried = fields.Integer(required=True)


class ChangeSchema(_Closed):
    """A rule that would (not) fire."""

    rule = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    factor = fields.String(required=True)
    points = fields.Float(required=True)
    change = fields.String(required=True, validate=validate.OneOf(("would fire",
                                                                   "would not fire")))


class EdgeMoveSchema(_Closed):
    """A smallest set of changes moving the score across a band threshold."""

    direction = fields.String(required=True, validate=validate.OneOf(("down", "up")))
    threshold = fields.Float(required=True)
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    outcome = fields.Nested(OutcomeSchema, required=True)


class NearEdgeSchema(_Closed):
    direction = fields.String(required=True)
    threshold = fields.Float(required=True)


class BandEdgeSchema(_Closed):
    margin = fields.Float(required=True)
    near = fields.List(fields.Nested(NearEdgeSchema), required=True)
    moves = fields.List(fields.Nested(EdgeMoveSchema), required=True)
    complete = fields.Boolean(required=True)


class WhatIfSchema(_Closed):
    """What would change the decision (`?what_if=true`)."""

    current = fields.Nested(OutcomeSchema, required=True)
    missing_fields = fields.List(fields.Nested(FieldEffectSchema), required=True)
    band_edge = fields.Nested(BandEdgeSchema, required=True)

class ScreeningCandidateSchema(_Closed):
    """A listed entry a party's name resembles, and why."""

    list = fields.String(required=True, metadata={"description": "watchlist name"})
    source = fields.String(required=True, metadata={
        "description": "the list within a consolidated file (e.g. 'Entity List (EL) - Bureau "
                       "of Industry and Security'); empty for single lists"})
    entry_id = fields.String(required=True, metadata={"description": "id in that list"})
    entry = fields.String(required=True, metadata={"description": "the entry's primary name"})
    listed_name = fields.String(required=True,
                                metadata={"description": "the listed name or alias that scored"})
    programs = fields.List(fields.String(), required=True)
    score = fields.Float(required=True, validate=validate.Range(0, 100))
    name = fields.String(required=True, metadata={"description": "the party's name as screened"})
    basis = fields.String(required=True, validate=validate.OneOf(("name", "partial", "acronym")),
                          metadata={"description": "fuzzy name score, the entity's distinctive "
                                                   "words in the name, or its acronym"})
    reading = fields.String(required=True, metadata={
        "description": "romanisation or spelling reading of the name that scored (bgn, icao, "
                       "gost, french, german, polish, czech, lookalike, initials, spaced); "
                       "initials: an initial paired with a listed given name, at most a "
                       "possible match"})
    paired = fields.List(fields.List(fields.String()), required=True, metadata={
        "description": "[party token, listed token] pairs that matched"})


class ScreenedPartySchema(_Closed):
    """The screening of one party: where it sits, the names screened, the outcome."""

    role = fields.String(required=True, metadata={"description": "initiator, counterparty, owner..."})
    path = fields.String(required=True, metadata={"example": "counterparties[0].owners[1]"})
    names = fields.List(fields.String(), required=True,
                        metadata={"description": "name and aliases, as screened"})
    outcome = fields.String(required=True, validate=validate.OneOf(("match", "possible", "clear")))
    score = fields.Float(required=True, validate=validate.Range(0, 100))
    candidates = fields.List(fields.Nested(ScreeningCandidateSchema), required=True, metadata={
        "description": "best distinct entries, best first; when clear, the best near-miss"})


class ScreenedListSchema(_Closed):
    """A watchlist screened, as it was: date, content digest, size, sample or stale."""

    name = fields.String(required=True)
    file = fields.String(required=True)
    as_of = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    age_days = fields.Integer(required=True, allow_none=True)
    digest = fields.String(required=True, metadata={"pattern": "^sha256:[0-9a-f]{64}$"})
    entries = fields.Integer(required=True)
    sample = fields.Boolean(required=True)
    stale = fields.Boolean(required=True)


class ScreeningRecordSchema(_Closed):
    """Proof of screening: the lists, the threshold, every party's outcome and candidates."""

    threshold = fields.Float(required=True)
    possible_at = fields.Float(required=True)
    max_age_days = fields.Integer(required=True, allow_none=True)
    lists = fields.List(fields.Nested(ScreenedListSchema), required=True)
    sample = fields.Boolean(required=True, metadata={"description": "a sample list was used"})
    stale = fields.Boolean(required=True, metadata={"description": "a stale list was used"})
    parties = fields.List(fields.Nested(ScreenedPartySchema), required=True)


class AssessmentSchema(_Closed):
    """The assessment-v1 document, exactly as scored and stored."""

    id = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    reference = fields.String(required=True, allow_none=True)
    ruleset = fields.Nested(RulesetRefSchema, required=True)
    as_of = fields.String(required=True, metadata={
        "format": "date", "description": "the day the rules were applied as of"})
    inherent_score = fields.Float(required=True, validate=validate.Range(0, 100))
    score = fields.Float(required=True, validate=validate.Range(0, 100))
    band = fields.String(required=True, validate=validate.OneOf(syntax.BAND_NAMES))
    decision = fields.String(required=True, validate=validate.OneOf(syntax.DECISIONS))
    knockouts = fields.List(fields.Nested(RuleHitSchema), required=True)
    factors = fields.List(fields.Nested(FactorScoreSchema), required=True)
    missing_information = fields.List(fields.Nested(MissingInformationSchema), required=True)
    summary = fields.String(required=True)
    # added by contract v2 (absent from assessments stored before it; never renamed)
    band_decision = fields.String(validate=validate.OneOf(syntax.DECISIONS), metadata={
        "description": "the decision of the score's band alone, before floors, knockouts and "
                       "the provisional raise"})
    floors = fields.List(fields.Nested(RuleHitSchema), metadata={
        "description": "fired rules that set a floor (`at_least`) on the decision"})
    provisional = fields.Boolean(metadata={
        "description": "true when an absent field could make a knockout or floor fire: the "
                       "decision is then at least the pack's incomplete_decision (never "
                       "approve)"})
    unsettled = fields.List(fields.Nested(UnsettledSchema), metadata={
        "description": "knockouts and floors that absent fields leave undecided"})
    checked_clear = fields.List(fields.Nested(CheckedClearSchema), metadata={
        "description": "knockouts and floors evaluated on the proposal that did not hold"})
    disposition = fields.Nested(DispositionSummarySchema, metadata={
        "description": "stored assessments a reviewer disposed of: the human decision"})
    what_if = fields.Nested(WhatIfSchema, metadata={
        "description": "only with `?what_if=true`"})
    screening = fields.Nested(ScreeningRecordSchema, metadata={
        "description": "present when the pack screens names"})


class FieldErrorSchema(_Closed):
    """One offending field of a request."""

    path = fields.String(required=True, metadata={"example": "counterparties[0].country"})
    message = fields.String(required=True)


class DiagnosticSchema(_Closed):
    """One diagnostic of a rule pack (docs/diagnostics.md)."""

    file = fields.String(required=True)
    line = fields.Integer(required=True)
    column = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"pattern": "^[EW][0-9]{3}$"})
    severity = fields.String(required=True, validate=validate.OneOf(("error", "warning")))
    message = fields.String(required=True)


class ProblemSchema(_Closed):
    """An RFC 9457 problem document (application/problem+json)."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String()
    code = fields.String(metadata={"description": "stable riskrules error code"})
    errors = fields.List(fields.Nested(FieldErrorSchema))
    diagnostics = fields.List(fields.Nested(DiagnosticSchema), metadata={
        "description": "a pack that does not load (reload, 422): every diagnostic"})
    correlation_id = fields.String(metadata={"description": "for 500s: also in the server log"})
    reference = fields.String(metadata={"description": "in a batch result: the failed "
                                        "proposal's own reference, when it has one"})


class AssessmentOrProblem(fields.Field):  # type: ignore[type-arg]
    """A batch result: the stored assessment, or the problem of that proposal."""


class BatchResponseSchema(_Closed):
    """`POST /v1/assessments:batch` answer: one result per proposal, in order."""

    results = fields.List(AssessmentOrProblem(), required=True)


class AssessmentPageSchema(_Closed):
    """One page of stored assessments, newest first."""

    items = fields.List(fields.Nested(AssessmentSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True,
                                metadata={"description": "null on the last page"})


class FactorDeclSchema(_Closed):
    """A factor as declared in pack.yaml."""

    id = fields.String(required=True)
    label = fields.String(required=True)
    weight = fields.Float(required=True)
    description = fields.String(allow_none=True)


class BandDeclSchema(_Closed):
    """A band as declared in pack.yaml: lower bound (inclusive) and decision."""

    name = fields.String(required=True)
    min_score = fields.Float(required=True)
    decision = fields.String(required=True)


class PositionSchema(_Closed):
    """Where something is in a pack file."""

    file = fields.String(required=True)
    line = fields.Integer(required=True)
    column = fields.Integer(required=True)


class RuleSchema(_Closed):
    """A rule as loaded, with its source position."""

    id = fields.String(required=True)
    title = fields.String(required=True)
    factor = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(RULE_KINDS))
    points = fields.Float(required=True)
    rationale = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    legal_basis = fields.List(fields.Nested(LegalBasisSchema))
    enabled = fields.Boolean()
    tags = fields.List(fields.String())
    effective_from = fields.String(allow_none=True, metadata={"format": "date"})
    effective_until = fields.String(allow_none=True, metadata={"format": "date"})
    position = fields.Nested(PositionSchema, required=True)


class RulesPageSchema(_Closed):
    """Every rule of the loaded pack (optionally filtered)."""

    items = fields.List(fields.Nested(RuleSchema), required=True)
    count = fields.Integer(required=True)


class ContractRefSchema(_Closed):
    """The proposal contract of the loaded pack."""

    version = fields.String(required=True, metadata={"description": "the contract's version"})
    fields_ = fields.Integer(data_key="fields", attribute="fields", required=True, metadata={
        "description": "how many fields the contract declares (every level)"})


def _count_fields(root: FieldSpec) -> int:
    seen: set[int] = set()

    def walk(spec: FieldSpec) -> int:
        if spec.kind is Kind.LIST and spec.item is not None:
            return walk(spec.item)
        if spec.kind is not Kind.OBJECT or id(spec.fields) in seen:
            return 0
        seen.add(id(spec.fields))
        return sum(1 + walk(sub) for sub in spec.fields.values())

    return walk(root)


class RulesetSchema(_Closed):
    """The loaded pack: identity, factors, bands, rule count."""

    name = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True, metadata={"pattern": "^sha256:[0-9a-f]{64}$"})
    loaded_at = fields.String(required=True, metadata={"format": "date-time"})
    factors = fields.List(fields.Nested(FactorDeclSchema), required=True)
    bands = fields.List(fields.Nested(BandDeclSchema), required=True)
    rule_count = fields.Integer(required=True)
    warnings = fields.Integer(required=True, metadata={"description": "pack warnings at load"})
    contract = fields.Nested(ContractRefSchema, metadata={
        "description": "the proposal contract the pack declares (contract.yaml)"})


class ReloadResponseSchema(_Closed):
    """`POST /v1/ruleset:reload` answer."""

    reloaded = fields.Boolean(required=True)
    previous_digest = fields.String(required=True, allow_none=True)
    ruleset = fields.Nested(RulesetSchema, required=True)
    scope = fields.String(required=True, metadata={
        "description": "`worker` (this process) or `all-workers` (gunicorn master signalled)"})


class ReadyScreeningSchema(_Closed):
    """The watchlists the current pack screens against, as of today."""

    max_age_days = fields.Integer(required=True, allow_none=True)
    lists = fields.List(fields.Nested(ScreenedListSchema), required=True)
    sample = fields.Boolean(required=True, metadata={"description": "a list is sample data"})
    stale = fields.Boolean(required=True, metadata={"description": "a list is past "
                                                                   "max_age_days"})


class HealthSchema(_Closed):
    """`/healthz` and `/readyz` answer."""

    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String())
    screening = fields.Nested(ReadyScreeningSchema, metadata={
        "description": "/readyz: the watchlists screened, with their age and flags"})
    warnings = fields.List(fields.String(), metadata={
        "description": "ready, but not as configured: a refused SIGHUP, a keys file or pack "
                       "on disk that does not load (the last good one serves)"})


# ---------------------------------------------------------------------------------------------
# dumping pack objects (duck-typed: the engine's dataclasses are read by attribute)


def _position(obj: Any) -> dict[str, Any]:
    pos = getattr(obj, "position", None) or getattr(obj, "pos", None)
    return {"file": str(getattr(pos, "file", "")), "line": int(getattr(pos, "line", 0) or 0),
            "column": int(getattr(pos, "column", 0) or 0)}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def rule_document(rule: Any) -> dict[str, Any]:
    """One engine Rule as the `Rule` response (unknown attributes are left out, not invented)."""
    doc = {
        "id": rule.id, "title": rule.title, "factor": rule.factor,
        "kind": getattr(rule.kind, "value", rule.kind), "points": rule.points,
        "rationale": getattr(rule, "rationale", None), "source": getattr(rule, "source", None),
        "legal_basis": [b.to_dict() for b in getattr(rule, "legal_basis", ())],
        "enabled": bool(getattr(rule, "enabled", True)),
        "tags": list(getattr(rule, "tags", ()) or ()),
        "effective_from": _text(getattr(rule, "effective_from", None)),
        "effective_until": _text(getattr(rule, "effective_until", None)),
        "position": _position(rule),
    }
    dumped: dict[str, Any] = RuleSchema().dump(doc)
    return dumped


def ruleset_document(pack: Any, loaded_at: str) -> dict[str, Any]:
    """The loaded pack as the `Ruleset` response."""
    doc = {
        "name": pack.name, "version": pack.version, "digest": pack.digest,
        "loaded_at": loaded_at,
        "factors": [{"id": f.id, "label": f.label, "weight": f.weight,
                     "description": getattr(f, "description", None)} for f in pack.factors],
        "bands": [{"name": getattr(b, "name", None) or getattr(b, "band", None),
                   "min_score": getattr(b, "min_score", None), "decision":
                   getattr(b.decision, "value", b.decision)} for b in pack.bands],
        "rule_count": len(pack.rules),
        "warnings": len(getattr(pack, "warnings", ()) or ()),
        "contract": {"version": pack.contract.version,
                     "fields": _count_fields(pack.contract.root)},
    }
    dumped: dict[str, Any] = RulesetSchema().dump(doc)
    return dumped
