"""The catalogue of diagnostic codes of `riskrules check` and `riskrules test`: the one list of them.

Every `E`/`W` code the engine or the CLI emits is a member of `Code`, with its severity, a
one-line meaning and what to do about it; code emits `Code.WRONG_TYPE`, never the text
`"E004"`. The code table of docs/diagnostics.md is generated from this catalogue
(`markdown_table`; `.venv/bin/python -m tests.cli.test_mistakes` rewrites it) and a test
(tests/cli/test_mistakes.py) fails when they disagree or when a module spells a code out.
`E` codes are errors (the pack does not load); `W` codes are warnings (`check --strict`).
A `Code` is a `str` (`Code.WRONG_TYPE == "E004"`), so diagnostics print and serialise as text.
"""

from __future__ import annotations

from enum import StrEnum

from engine.errors import Severity


class Code(StrEnum):
    """A diagnostic code: its text (`E004`), severity, meaning and fix."""

    meaning: str
    fix: str

    def __new__(cls, value: str, meaning: str, fix: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        member.fix = fix
        return member

    @property
    def severity(self) -> Severity:
        """`E` codes stop the pack from loading; `W` codes fail only `check --strict`."""
        return Severity.WARNING if self.value.startswith("W") else Severity.ERROR

    UNREADABLE = (
        "E001",
        "file unreadable, YAML syntax error, anchors/aliases, empty file; a rule test's proposal file "
        "missing or not JSON",
        "read the explanation: indentation (spaces only, sibling keys in one column), quotes around "
        "values with `: ` or starting with `@`, `` ` ``, `%`, `*`, unclosed `[`/`{`/quotes; a proposal "
        "path is relative to its test file")
    UNKNOWN_KEY = (
        "E002",
        "unknown key or operator",
        "use the key or operator named in the message (operators are words: `eq`, not `==`); the "
        "message lists the valid ones")
    MISSING_KEY = (
        "E003",
        "required key missing",
        "add the key; a rule needs `id`, `title`, `factor`, `kind`, `points`, `when`")
    WRONG_TYPE = (
        "E004",
        "wrong shape or type of value",
        "a list where values are expected (`in: [RU]`), one value for `contains`, a list name for "
        "`in_list`, one operator per test (combine with `all:`), text in quotes")
    DUPLICATE_KEY = (
        "E005",
        "duplicate key in one YAML mapping",
        "keep one; the message gives the line of the first")
    DUPLICATE_ID = (
        "E010",
        "duplicate id (rule, factor, band, list entry)",
        "choose another id (`riskrules new rule` picks a free one)")
    UNKNOWN_FACTOR = (
        "E011",
        "unknown factor",
        "use one of the factors of `pack.yaml` (listed in the message)")
    UNKNOWN_LIST = (
        "E012",
        "unknown list",
        "use one of the lists of `lists/` (listed in the message), or add the list file")
    UNKNOWN_PATH = (
        "E013",
        "path not in the proposal contract, or a path that steps through a list",
        "use a field of the proposal contract (editors complete `path:` from `rules/schema/`; the "
        "message suggests a close one); inside a list use `some`/`every` with paths relative to the "
        "item")
    OPERATOR_MISFIT = (
        "E014",
        "operator that does not fit the field's type",
        "on a list field use `contains` / `contains_any` / `some` / `every`; on a single value use "
        "`eq` / `in` (the message says which); quote values YAML reads as booleans, numbers or dates")
    BAD_PATTERN = (
        "E015",
        "invalid or unsupported pattern in `matches`",
        "the whole text must match: no `^`/`$`, no `\\d`; write `.*word.*`, `[0-9]`, `[.]`")
    RESERVED_NAME = (
        "E016",
        "reserved name in a path (`sid`, `id`, names starting with `$` or `_`)",
        "use a field of the contract")
    EMPTY = (
        "E017",
        "empty `all`/`any`, pack without rules or factors, list without entries, empty test file or "
        "`expect`",
        "add at least one item")
    BAD_VALUE = (
        "E018",
        "value outside an enumeration, invalid country or currency code",
        "use one of the values listed in the message; countries are ISO codes (`RU`, not `Russia`)")
    NOT_EXPRESSIBLE = (
        "E019",
        "condition the matching core cannot run faithfully (`every` over a choice between fields, more "
        "than 64 alternatives)",
        "split the rule in two, or say it with `some`")
    BAD_POINTS = (
        "E020",
        "points: wrong sign for the kind, out of range, more than two decimals",
        "mitigations are negative, risk and knockout 0 to 100; a rule that lowers the score is `kind: "
        "mitigation`")
    BAD_WINDOW = (
        "E021",
        "`effective_until` before `effective_from`",
        "swap or correct the dates")
    RULE_TOO_LARGE = (
        "E022",
        "a rule the matching core refuses to build (too large)",
        "split the rule or shorten its lists")
    MISPLACED_FLOOR = (
        "E023",
        "`at_least` (a floor) on a knockout or mitigation rule: only risk rules set floors",
        "move the floor to a risk rule, or drop `at_least`")
    BAD_SETTINGS = (
        "E030",
        "pack settings: weights, band order and minimums, screening threshold",
        "weights above 0; bands low, medium, high, critical with rising minimums from 0")
    WATCHLIST_UNREADABLE = (
        "E040",
        "a watchlist that cannot be read, or that lies outside the pack",
        "fix the file name in `pack.yaml` `screening.watchlists` (relative to the pack)")
    WATCHLIST_EMPTY = (
        "E041",
        "a watchlist with no entries (screening against it would clear every name)",
        "import the real list (`riskrules lists import`) or remove the file from `screening.watchlists`")
    SAMPLE_WATCHLIST_IN_PRODUCTION = (
        "E042",
        "a sample watchlist under `screening.production: true`",
        "import the current list (`riskrules lists import`), or drop `production: true` outside "
        "production")
    STALE_WATCHLIST_IN_PRODUCTION = (
        "E043",
        "a stale watchlist (older than `screening.max_age_days`) under `screening.production: true`",
        "import the current list; `riskrules lists status` shows each list's age")
    TEST_UNKNOWN_RULE = (
        "E050",
        "rule test: unknown rule id, a non-knockout rule under `knockouts`, a rule both expected and "
        "not expected to fire",
        "use an id of the pack (the message suggests a close one)")
    TEST_BAD_PROPOSAL = (
        "E051",
        "rule test: the proposal breaks the proposal contract (the position points at the field)",
        "correct the field of the proposal")
    TEST_ENGINE_FAILED = (
        "E052",
        "rule test: the engine failed on the case",
        "report it with the case")
    CONTRACT_UNUSABLE = (
        "E060",
        "contract.yaml: a field or type declaration that cannot be used (unknown type, a type nesting "
        "itself without max_depth, bad enum, together/ordered fields)",
        "the message lists the valid types, or says which bound to add")
    CONTRACT_UNBOUNDED = (
        "E061",
        "contract.yaml: a string without max_length or a list without max_items",
        "add the bound: every input is bounded")
    WATCHLIST_CONTENT = (
        "E400",
        "watchlist content: unknown key, entry without `id` or `name`, bad `type` or country code, "
        "duplicate entry id (at the line in the watchlist file)",
        "correct the entry; the message lists the allowed keys")
    NO_RATIONALE = (
        "W001",
        "rule without `rationale`",
        "say what the reviewer should do when it fires, and why")
    NO_SOURCE = (
        "W002",
        "rule without `source`",
        "name the regulation, guidance or article it comes from")
    NO_LEGAL_BASIS = (
        "W003",
        "rule without `legal_basis`",
        "add the instrument, provision, official `https://` link and the date you checked it "
        "(`rules/README.md`)")
    UNQUOTED_DATE = (
        "W004",
        "date written without quotes (`as_of`, `effective_from`, `effective_until`, `since` in "
        "pack and list files; a watchlist's `as_of`; any date in a test case, its proposal "
        "included)",
        "write `\"2026-07-01\"`: YAML tools read an unquoted date as a date object, editors as text")
    NEVER_FIRES = (
        "W010",
        "rule that can never fire (contradictory tests)",
        "the message names the contradiction")
    SAME_CONDITION = (
        "W011",
        "two rules of one factor with the same condition (one shadows the other)",
        "merge them or change one")
    NOT_COVERED = (
        "W020",
        "rule that no rule test fires (only when the pack has tests)",
        "add a case that fires it to `tests/` (`riskrules new rule` writes one)")
    TESTS_NOT_LOADED = (
        "W021",
        "rule tests that did not load (a missing proposal file, a test file that does not parse): W020 "
        "is not checked until they load",
        "run `riskrules test` for every problem; in a container image, make sure `examples/` is there")
    UNUSED_LIST = (
        "W030",
        "list that no rule uses",
        "use it in a rule or delete it")
    LIST_ENTRY_WITHOUT_SOURCE = (
        "W031",
        "list entry without `source`",
        "add where the entry comes from")
    SAMPLE_WATCHLIST = (
        "W040",
        "a watchlist marked `sample: true`",
        "import the real list with `riskrules lists import`; a demonstration pack passes `check "
        "--strict --allow-sample-lists`")
    STALE_WATCHLIST = (
        "W041",
        "a watchlist older than `screening.max_age_days` (stale)",
        "import the current list; `riskrules lists status` shows each list's age")
    VERSION_NOT_BUMPED = (
        "W050",
        "the pack's scoring files changed since the git revision checked against (HEAD, or `check "
        "--base REF`) but `version` in pack.yaml did not",
        "bump `version` in pack.yaml, so assessments made under the old and the new rules carry "
        "different versions (the digest already differs)")


TABLE_HEADER = "| code | meaning | what to do |\n|---|---|---|\n"


def markdown_table() -> str:
    """The code table of docs/diagnostics.md, one row per code in catalogue order."""
    return TABLE_HEADER + "".join(f"| {c.value} | {c.meaning} | {c.fix} |\n" for c in Code)
