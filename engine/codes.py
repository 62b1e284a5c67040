"""The diagnostic codes of `riskrules check` and `riskrules test`: the one list of them.

Every `E`/`W` code the engine or the CLI emits is declared here with what it means;
docs/diagnostics.md documents exactly these codes, each with its fix, and a test
(tests/engine/test_mistakes.py) fails when code, this table and the documentation disagree.
`E` codes are errors (the pack does not load); `W` codes are warnings (`check --strict`).
"""

from __future__ import annotations

CODES: dict[str, str] = {
    "E001": "file unreadable, YAML syntax error, anchors/aliases, empty file, a proposal file "
            "of a rule test that is missing or not JSON",
    "E002": "unknown key or operator",
    "E003": "required key missing",
    "E004": "wrong shape or type of value (mapping, list, text, number, date)",
    "E005": "duplicate key in one YAML mapping",
    "E010": "duplicate id (rule, factor, band, list entry)",
    "E011": "unknown factor",
    "E012": "unknown list",
    "E013": "path not in the proposal contract, or a path that steps through a list",
    "E014": "operator that does not fit the field's type",
    "E015": "invalid or unsupported pattern in `matches`",
    "E016": "reserved name in a path",
    "E017": "empty `all`/`any`, pack without rules or factors, list without entries, empty "
            "test file or `expect`",
    "E018": "value outside an enumeration, invalid country or currency code",
    "E019": "condition the matching core cannot run faithfully",
    "E020": "points: wrong sign for the kind, out of range, more than two decimals",
    "E021": "`effective_until` before `effective_from`",
    "E022": "a rule the matching core refuses to build (too large)",
    "E023": "`at_least` (a floor) on a knockout or mitigation rule",
    "E030": "pack settings: weights, band order and minimums, screening threshold",
    "E040": "a watchlist that cannot be read, or that lies outside the pack",
    "E041": "a watchlist with no entries (screening against it would clear every name)",
    "E042": "a sample watchlist under `screening.production: true`",
    "E043": "a stale watchlist (older than `screening.max_age_days`) under "
            "`screening.production: true`",
    "E050": "rule test: unknown rule id, a non-knockout rule under `knockouts`, a rule both "
            "expected and not expected to fire",
    "E051": "rule test: the proposal breaks the proposal contract",
    "E052": "rule test: the engine failed on the case",
    "E060": "contract.yaml: a field or type declaration that cannot be used (unknown type, "
            "a type nesting itself without max_depth, bad enum, together/ordered fields)",
    "E061": "contract.yaml: a string without max_length or a list without max_items",
    "E400": "watchlist content: unknown key, missing id or name, bad type or country code, "
            "duplicate entry id",
    "W001": "rule without `rationale`",
    "W002": "rule without `source`",
    "W003": "rule without `legal_basis`",
    "W004": "date written without quotes",
    "W010": "rule that can never fire (contradictory tests)",
    "W011": "two rules of one factor with the same condition",
    "W020": "rule that no rule test fires (only when the pack has tests)",
    "W021": "rule tests that did not load (so W020 is not checked)",
    "W030": "list that no rule uses",
    "W031": "list entry without `source`",
    "W040": "a watchlist marked `sample: true`",
    "W041": "a watchlist older than `screening.max_age_days` (stale)",
}
