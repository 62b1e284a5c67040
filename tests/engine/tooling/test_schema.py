"""engine.tooling.schema: the editor JSON Schemas accept the bundled pack and refuse what `check` refuses."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from cli.main import main
from engine import Pack, PackError, load_pack
from engine.errors import ListImportError, ProposalError
from engine.screening.watchlists import parse_watchlist
from engine.tooling import schema, schemaparts, testcases
from tests.bundled import BUNDLED
from tests.bundled import validate as validate_proposal
from tests.engine.conftest import MINIPACK

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "rules"
EXAMPLES = ROOT / "examples"
HEADER = "# yaml-language-server: $schema="


def editor_view(text: str) -> Any:
    """The YAML as an editor's language server sees it: JSON data, dates as text."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    return plain(yaml.safe_load(text))


VALIDATORS = {name: Draft202012Validator(build(BUNDLED), format_checker=Draft202012Validator.FORMAT_CHECKER)
              for name, build in schema.SCHEMAS.items()}


def schema_errors(name: str, text: str) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in VALIDATORS[name].iter_errors(editor_view(text))]


def bundled_files() -> list[tuple[str, Path]]:
    files = [("pack", RULES / "pack.yaml")]
    files += [("contract", RULES / "contract.yaml")]
    files += [("rules", p) for p in sorted(RULES.glob("*.yaml"))
              if p.name not in ("pack.yaml", "contract.yaml")]
    files += [("list", p) for p in sorted((RULES / "lists").glob("*.yaml"))]
    files += [("watchlist", p) for p in sorted((RULES / "watchlists").glob("*.yaml"))]
    files += [("tests", p) for p in sorted((RULES / "tests").glob("*.yaml"))]
    return files


@pytest.mark.parametrize("name", list(schema.SCHEMAS))
def test_every_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    document = schema.SCHEMAS[name](BUNDLED)
    assert document["$schema"] == schemaparts.DIALECT
    Draft202012Validator.check_schema(document)


@pytest.mark.parametrize(("name", "path"), bundled_files(),
                         ids=[str(p.relative_to(RULES)) for _, p in bundled_files()])
def test_every_bundled_file_names_and_passes_its_schema(name: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith(HEADER), f"{path} does not start with {HEADER}..."
    target = (path.parent / first.removeprefix(HEADER).strip()).resolve()
    assert target == RULES / schema.SCHEMA_DIR / schema.file_name(name)
    assert target.is_file()
    assert schema_errors(name, text) == []


@pytest.mark.parametrize(("name", "path"), bundled_files(),
                         ids=[str(p.relative_to(RULES)) for _, p in bundled_files()])
def test_every_bundled_file_validates_from_a_script(name: str, path: Path) -> None:
    """As docs/diagnostics.md says to do it: yaml.safe_load, then the committed schema file,
    with no conversion in between (unquoted dates would be date objects and fail here)."""
    document = json.loads((RULES / schema.SCHEMA_DIR / schema.file_name(name)).read_text(
        encoding="utf-8"))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{e.json_path}: {e.message}" for e in
              Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)
              .iter_errors(data)]
    assert errors == []


def test_an_unquoted_date_fails_the_script_and_warns_in_check(
        write_pack: Callable[[dict[str, str]], Path]) -> None:
    unquoted = LIST.replace('as_of: "2026-11-01"', "as_of: 2026-11-01")
    assert unquoted != LIST
    document = json.loads((RULES / schema.SCHEMA_DIR / schema.file_name("list")).read_text(
        encoding="utf-8"))
    assert list(Draft202012Validator(document).iter_errors(yaml.safe_load(unquoted)))
    pack = load_pack(write_pack({"lists/risky.yaml": unquoted}))
    pack.close()
    assert [(d.code, d.position.line) for d in pack.diagnostics if d.code == "W004"] == [
        ("W004", 2)]


def test_the_bundled_files_cover_every_schema() -> None:
    assert {name for name, _ in bundled_files()} == set(schema.SCHEMAS)


# ---------------------------------------------------------------------------------------------
# structurally bad files: `check` reports an error and the schema refuses the file too

RULE: dict[str, Any] = {"id": "T-001", "title": "t", "factor": "security", "kind": "risk",
                        "points": 10, "when": {"path": "deal.type", "eq": "joint_venture"},
                        "rationale": "r", "source": "s"}


def rule_file(**changes: Any) -> str:
    rule = {k: v for k, v in {**RULE, **changes}.items() if v is not None}
    return yaml.safe_dump({"rules": [rule]}, sort_keys=False, allow_unicode=True)


def when(condition: Any) -> str:
    return rule_file(when=condition)


BAD_RULE_FILES = {
    "unknown key in a rule": ("E002", rule_file(colour="red")),
    "missing when": ("E003", rule_file(when=None)),
    "wrong kind value": ("E018", rule_file(kind="danger")),
    "unknown operator": ("E002", when({"path": "deal.type", "equals": "joint_venture"})),
    "empty all": ("E017", when({"all": []})),
    "empty any": ("E017", when({"any": []})),
    "combinator beside a path": ("E004", when({"all": [{"exists": "title"}], "path": "title"})),
    "two operators": ("E004", when({"path": "deal.type", "eq": "other", "ne": "joint_venture"})),
    "no operator": ("E004", when({"path": "deal.type"})),
    "unknown path": ("E013", when({"path": "deal.tipe", "eq": "other"})),
    "path through a list": ("E013", when({"path": "counterparties.country", "eq": "RU"})),
    "comparison on a list": ("E014", when({"path": "counterparties", "eq": "RU"})),
    "value outside the enumeration": ("E018", when({"path": "deal.type", "eq": "jv"})),
    "not a country code": ("E018", when({"path": "counterparties",
                                        "some": {"path": "country", "eq": "XX"}})),
    "quantifier on a non-list": ("E014", when({"path": "deal", "some": {"exists": "type"}})),
    "quantifier without a path": ("E003", when({"some": {"exists": "title"}})),
    "path inside plain items": ("E013", when({"path": "deal.jurisdictions",
                                             "some": {"path": "x", "eq": "RU"}})),
    "exists with a path": ("E004", when({"path": "title", "exists": "title"})),
    "lt on text": ("E014", when({"path": "title", "lt": 3})),
    "text operand for a number": ("E014", when({"path": "payments.usd_share", "lt": "low"})),
    "fraction for an integer": ("E014", when({"path": "deal.duration_months", "gte": 5.5})),
    "contains on a scalar": ("E014", when({"path": "title", "contains": "x"})),
    "matches on plain items": ("E014", when({"path": "counterparties", "some": {
        "path": "aliases", "some": {"matches": ".*x.*"}}})),
    "in with no values": ("E004", when({"path": "deal.type", "in": []})),
    "positive mitigation": ("E020", rule_file(kind="mitigation", points=5)),
    "negative risk": ("E020", rule_file(points=-5)),
    "points as text": ("E004", rule_file(points="ten")),
    "bad rule id": ("E004", rule_file(id="1-bad id")),
    "enabled not a boolean": ("E004", rule_file(enabled="yes please")),
    "effective_from not a date": ("E004", rule_file(effective_from="next year")),
    "rules not a list": ("E004", "rules: {id: T-001}\n"),
    "unknown key beside rules": ("E002", rule_file() + "extra: 1\n"),
}


@pytest.fixture
def write_pack(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """A copy of the mini pack with some files replaced (name relative to the pack → text)."""
    def write(files: dict[str, str]) -> Path:
        root = tmp_path / f"pack{len(list(tmp_path.iterdir()))}"
        shutil.copytree(MINIPACK, root)
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        return root

    return write


def check_codes(root: Path) -> set[str]:
    try:
        load_pack(root).close()
    except PackError as exc:
        return {d.code for d in exc.diagnostics if d.code.startswith("E")}
    return set()


@pytest.mark.parametrize("case", list(BAD_RULE_FILES))
def test_check_and_schema_refuse_a_bad_rule_file(case: str,
                                                 write_pack: Callable[[dict[str, str]], Path]
                                                 ) -> None:
    code, text = BAD_RULE_FILES[case]
    assert code in check_codes(write_pack({"rules.yaml": text}))
    assert schema_errors("rules", text), f"the schema accepts: {text}"


GOOD_CONDITIONS = {
    "eq on an enum": {"path": "deal.type", "eq": "joint_venture"},
    "some over objects": {"path": "counterparties", "some": {"path": "country", "in_list": "risky"}},
    "some over plain items": {"path": "deal.jurisdictions", "some": {"in_list": "risky"}},
    "nested quantifiers": {"path": "counterparties", "every": {
        "path": "owners", "some": {"path": "country", "eq": "RU"}}},
    "not matches": {"not": {"path": "title", "matches": ".*[Ll]aunch.*"}},
    "screening field": {"path": "counterparties", "some": {"path": "screening.matched",
                                                           "eq": True}},
    "presence": {"any": [{"exists": "deal.value.amount"}, {"missing": "payments.usd_share"}]},
    "contains_any on an enum list": {"path": "payments.rails", "contains_any": ["crypto", "mir"]},
    "integer written as a float": {"path": "deal.duration_months", "gte": 60.0},
    "not in list": {"path": "initiator.country", "not_in_list": "risky"},
    "every on technologies": {"path": "technologies", "every": {
        "path": "export_control", "in": ["not_controlled", "unknown"]}},
}


@pytest.mark.parametrize("case", list(GOOD_CONDITIONS))
def test_check_and_schema_accept_a_good_condition(case: str,
                                                  write_pack: Callable[[dict[str, str]], Path]
                                                  ) -> None:
    text = when(GOOD_CONDITIONS[case])
    assert check_codes(write_pack({"rules.yaml": text})) == set()
    assert schema_errors("rules", text) == []


PACK = (MINIPACK / "pack.yaml").read_text(encoding="utf-8")
BAD_PACKS = {
    "band name outside the enum": ("E018", PACK.replace("band: high", "band: severe")),
    "missing version": ("E003", PACK.replace('version: "1.0"\n', "")),
    "unknown key": ("E002", PACK + "colour: red\n"),
    "bad knockout decision": ("E018", PACK.replace("decision: reject\n", "decision: ban\n")),
    "decision outside the enum": ("E018", PACK.replace("decision: review", "decision: think")),
    "factor without weight": ("E003", PACK.replace(", weight: 1}", "}")),
    "zero weight": ("E030", PACK.replace("weight: 1}", "weight: 0}")),
    "no factors": ("E017", PACK.replace(
        "  - {id: security, label: Security, weight: 3}\n  - {id: money, label: Money, weight: 1}\n",
        "  []\n").replace("factors:\n  []", "factors: []")),
}


@pytest.mark.parametrize("case", list(BAD_PACKS))
def test_check_and_schema_refuse_a_bad_pack_yaml(case: str,
                                                 write_pack: Callable[[dict[str, str]], Path]
                                                 ) -> None:
    code, text = BAD_PACKS[case]
    assert text != PACK
    assert code in check_codes(write_pack({"pack.yaml": text}))
    assert schema_errors("pack", text), f"the schema accepts: {text}"


LIST = (MINIPACK / "lists" / "risky.yaml").read_text(encoding="utf-8")
BAD_LISTS = {
    "entry without value": ("E003", LIST.replace("{value: IR, note", "{note")),
    "unknown list kind": ("E018", LIST.replace("kind: country", "kind: colour")),
    "not a country code": ("E018", LIST.replace("value: IR", "value: Iran")),
    "missing as_of": ("E003", LIST.replace("as_of: \"2026-11-01\"\n", "")),
    "unknown key in an entry": ("E002", LIST.replace("note: Iran", "colour: red")),
}


@pytest.mark.parametrize("case", list(BAD_LISTS))
def test_check_and_schema_refuse_a_bad_list(case: str,
                                            write_pack: Callable[[dict[str, str]], Path]) -> None:
    code, text = BAD_LISTS[case]
    assert text != LIST
    assert code in check_codes(write_pack({"lists/risky.yaml": text}))
    assert schema_errors("list", text), f"the schema accepts: {text}"


WATCHLIST = """name: test_list
as_of: 2026-11-25
sample: true
entries:
- id: T-1
  name: ACME STATE CORPORATION
  aliases: [ACME]
  type: entity
  programs: [RUSSIA-EO14024]
  countries: [RU]
"""
BAD_WATCHLISTS = {
    "unknown key in an entry": WATCHLIST.replace("  type: entity", "  kind: entity"),
    "entry without id": WATCHLIST.replace("- id: T-1\n  name:", "- name:"),
    "unknown entry type": WATCHLIST.replace("type: entity", "type: company"),
    "not a country code": WATCHLIST.replace("[RU]", "[Russia]"),
    "sample not a boolean": WATCHLIST.replace("sample: true", "sample: maybe"),
    "missing entries": WATCHLIST.split("entries:", maxsplit=1)[0],
}


def test_the_watchlist_fixture_is_good() -> None:
    assert parse_watchlist(WATCHLIST, "test.yaml").entries
    assert schema_errors("watchlist", WATCHLIST) == []


@pytest.mark.parametrize("case", list(BAD_WATCHLISTS))
def test_reader_and_schema_refuse_a_bad_watchlist(case: str) -> None:
    text = BAD_WATCHLISTS[case]
    with pytest.raises(ListImportError):
        parse_watchlist(text, "test.yaml")
    assert schema_errors("watchlist", text), f"the schema accepts: {text}"


TESTS = """cases:
  - name: an inline proposal
    as_of: 2026-11-01
    proposal:
      title: Test deal
      initiator: {name: Orbital Dynamics Inc., country: US, type: private_company}
      counterparties: [{name: Acme OOO, country: RU, type: private_company}]
      deal: {type: other, value: {amount: 10, currency: USD}}
      sectors: [space]
    expect:
      decision: escalate
      score: {between: [0, 100]}
      fired: [S-001]
      knockouts: []
      factor_scores: {security: {gte: 60}, money: 0}
"""
BAD_TESTS = {
    "unknown key in a case": TESTS.replace("    as_of:", "    when:"),
    "empty expect": TESTS.split("    expect:", maxsplit=1)[0] + "    expect: {}\n",
    "between with gte": TESTS.replace("{between: [0, 100]}", "{between: [0, 100], gte: 1}"),
    "between with one bound": TESTS.replace("[0, 100]", "[0]"),
    "unknown band": TESTS.replace("decision: escalate", "band: severe"),
    "missing proposal": TESTS.replace("    proposal:", "    proposal_:"),
    "no cases": "cases: []\n",
    "proposal outside the contract": TESTS.replace("sectors: [space]", "sectors: [space]\n"
                                                   "      colour: red"),
    "amount without currency": TESTS.replace(", currency: USD", ""),
    "bad rule id": TESTS.replace("fired: [S-001]", "fired: [S 001]"),
}


def case_file_problems(pack: Pack, folder: Path, text: str) -> list[str]:
    file = folder / "case.yaml"
    file.write_text(text, encoding="utf-8")
    cases, problems = testcases.load_cases([file], pack)
    out = [str(d) for d in problems if d.code.startswith("E")]
    for case in cases:
        out += [str(d) for d in case.errors]
        if case.proposal is not None and not case.errors:
            try:
                validate_proposal(case.proposal)
            except ProposalError as exc:
                out += [e.message for e in exc.errors]
    return out


def test_the_test_file_fixture_is_good(minipack: Pack, tmp_path: Path) -> None:
    assert case_file_problems(minipack, tmp_path, TESTS) == []
    assert schema_errors("tests", TESTS) == []


@pytest.mark.parametrize("case", list(BAD_TESTS))
def test_tester_and_schema_refuse_a_bad_test_file(case: str, minipack: Pack,
                                                  tmp_path: Path) -> None:
    text = BAD_TESTS[case]
    assert text != TESTS
    assert case_file_problems(minipack, tmp_path, text)
    assert schema_errors("tests", text), f"the schema accepts: {text}"


def proposal_errors(proposal: Any) -> list[str]:
    document = {"cases": [{"name": "x", "proposal": proposal, "expect": {"decision": "reject"}}]}
    return [e.message for e in VALIDATORS["tests"].iter_errors(document)]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_example_proposals_pass_the_proposal_schema(path: Path) -> None:
    proposal = json.loads(path.read_text(encoding="utf-8"))
    validate_proposal(proposal)
    assert proposal_errors(proposal) == []


def test_the_proposal_schema_refuses_what_the_api_refuses() -> None:
    good = json.loads((EXAMPLES / "launch-jv-roscosmos.json").read_text(encoding="utf-8"))
    bad = [
        {**good, "colour": "red"},
        {**good, "counterparties": [{**good["counterparties"][0], "screening": {}}]},
        {**good, "counterparties": [{**good["counterparties"][0], "country": "XX"}]},
        {**good, "sectors": []},
        {**good, "deal": {**good["deal"], "duration_months": 0}},
        {**good, "deal": {**good["deal"], "value": {"amount": 1}}},
        {k: v for k, v in good.items() if k != "title"},
    ]
    for proposal in bad:
        with pytest.raises(ProposalError):
            validate_proposal(proposal)
        assert proposal_errors(proposal), proposal


# ---------------------------------------------------------------------------------------------
# one source of truth


def test_a_key_the_checker_does_not_know_cannot_reach_the_schema(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.language import parser as language

    monkeypatch.setattr(language, "RULE_KEYS", (*language.RULE_KEYS, "severity"))
    with pytest.raises(ValueError, match="differ from the checker"):
        schema.rules_schema(BUNDLED)


def test_the_schema_offers_the_contract_paths_and_values() -> None:
    defs = schema.rules_schema(BUNDLED)["$defs"]
    paths = defs["paths.proposal"]["enum"]
    assert {"deal.type", "payments.usd_share", "initiator.screening.matched"} <= set(paths)
    assert "counterparties.country" not in paths
    assert defs["paths.party"]["enum"][:4] == ["name", "country", "subdivision", "type"]
    assert defs["enum.deal_type"]["enum"][0] == "joint_venture"


# ---------------------------------------------------------------------------------------------
# riskrules schema [--output DIR] [--check]


def test_the_committed_schemas_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules", str(RULES), "schema", "--check"]) == 0
    assert "are current" in capsys.readouterr().err


def test_check_fails_on_a_tampered_or_missing_schema(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "schema"
    shutil.copytree(RULES / schema.SCHEMA_DIR, copy)
    assert main(["schema", "--check", "--output", str(copy)]) == 0
    tampered = copy / "rules.schema.json"
    document = json.loads(tampered.read_text(encoding="utf-8"))
    document["$defs"]["rule"]["properties"]["kind"]["enum"].append("bonus")
    tampered.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    (copy / "pack.schema.json").unlink()
    capsys.readouterr()
    assert main(["schema", "--check", "--output", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "rules.schema.json: out of date" in err and "pack.schema.json: missing" in err
    assert "list.schema.json" not in err


def test_schema_writes_the_files_check_accepts(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "pack"
    rules.mkdir()
    assert main(["--rules", str(rules), "schema"]) == 2  # a pack declares its contract
    shutil.copy(RULES / "contract.yaml", rules / "contract.yaml")
    assert main(["--rules", str(rules), "schema"]) == 0
    written = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in written) == sorted(
        schema.file_name(n) for n in schema.SCHEMAS)
    for name in schema.SCHEMAS:
        assert (rules / "schema" / schema.file_name(name)).read_text(encoding="utf-8") == \
            (RULES / "schema" / schema.file_name(name)).read_text(encoding="utf-8")
    assert main(["--rules", str(rules), "schema", "--check"]) == 0


def test_an_unquoted_watchlist_as_of_warns_in_check_even_from_the_index_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKRULES_INDEX_CACHE_DIR", str(tmp_path / "cache"))
    pack_dir = tmp_path / "pack"
    shutil.copytree(RULES, pack_dir)
    watchlist = pack_dir / "watchlists" / "sdn_sample.yaml"
    text = watchlist.read_text(encoding="utf-8")
    unquoted = re.sub(r"^as_of: '(\d{4}-\d{2}-\d{2})'$", r"as_of: \1", text, flags=re.M)
    assert unquoted != text
    watchlist.write_text(unquoted, encoding="utf-8")
    line = unquoted[:unquoted.index("\nas_of:")].count("\n") + 2
    for _ in range(2):  # parsed, then from the cached index
        pack = load_pack(pack_dir)
        pack.close()
        assert [(d.position.file, d.position.line, d.position.column)
                for d in pack.diagnostics if d.code == "W004"] == [(str(watchlist), line, 8)]
