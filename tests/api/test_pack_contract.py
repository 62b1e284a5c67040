"""The pack declares its proposal contract (contract.yaml): diagnostics with positions, engine
validation naming every bad field, E013 listing the valid fields, the field reference, and a
new field added by an analyst with no Python change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from engine import load_pack
from engine.errors import PackError, ProposalError
from engine.language.contractfile import load_contract
from engine.tooling.fields import reference
from tests.api.conftest import AppFactory
from tests.api.support import auth

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
EXAMPLE = json.loads((ROOT / "examples" / "launch-jv-roscosmos.json").read_text())

MINI_CONTRACT = """\
version: "9"
types:
  holder:
    type: object
    fields:
      name: {type: string, max_length: 50, required: true}
      percent: {type: number, min: 0, max: 100}
      licence_from: {type: date}
      licence_until: {type: date}
      region: {type: subdivision}
      owners: {type: list, items: holder, max_items: 5, max_depth: 3,
               items_sum: {field: percent, max: 100}, acyclic_by: [name]}
    ordered: [[licence_from, licence_until]]
fields:
  title: {type: string, min_length: 1, max_length: 20, required: true}
  owners: {type: list, items: holder, max_items: 5, max_depth: 3,
           items_sum: {field: percent, max: 100}, acyclic_by: [name]}
"""
MINI_RULES = """\
rules:
  - {id: R1, title: t, factor: security, kind: risk, points: 10,
     when: {path: owners, some: {path: region, eq: UA-43}}, rationale: r, source: s}
"""


def _pack(tmp_path: Path, contract: str, rules: str = MINI_RULES) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(ROOT / "tests" / "engine" / "fixtures" / "minipack", root,
                    ignore=shutil.ignore_patterns("rules.yaml", "contract.yaml"))
    (root / "contract.yaml").write_text(contract, encoding="utf-8")
    (root / "rules.yaml").write_text(rules, encoding="utf-8")
    return root


def _errors(tmp_path: Path, contract: str) -> list[str]:
    with pytest.raises(PackError) as info:
        load_pack(_pack(tmp_path, contract))
    return [f"{d.position.line}:{d.position.column} {d.code} {d.message}"
            for d in info.value.diagnostics if d.code.startswith("E")]


def test_the_bundled_contract_is_in_the_digest_and_states_its_version(tmp_path: Path) -> None:
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy, ignore=shutil.ignore_patterns("tests"))
    before = load_pack(copy)
    text = (copy / "contract.yaml").read_text()
    (copy / "contract.yaml").write_text(text + "\n# a comment\n")
    after = load_pack(copy)
    try:
        assert before.digest != after.digest
        assert before.contract.version == load_contract(RULES).version
    finally:
        before.close()
        after.close()


@pytest.mark.parametrize(("contract", "expected"), [
    ('version: "1"\nfields:\n  title: {type: string}\n',
     "3:10 E061 string proposal.title needs max_length: every string is bounded"),
    ('version: "1"\nfields:\n  tags: {type: list, items: country}\n',
     "3:9 E061 list proposal.tags needs max_items: every list is bounded"),
    ('version: "1"\nfields:\n  who: {type: persn}\n',
     "3:15 E060 unknown type 'persn'"),
    ('version: "1"\ntypes:\n  p:\n    type: object\n    fields:\n'
     '      owners: {type: list, items: p, max_items: 3}\nfields:\n  who: {type: p}\n',
     "E060 who.owners[] nests type p in itself: bound the list on the way with max_depth"),
    ('version: "1"\nfields:\n  kind: {type: enum}\n',
     "3:9 E003 enum proposal.kind needs 'enum'"),
    ('version: "1"\nfields:\n  n: {type: number, maxi: 3}\n',
     "3:21 E002 unknown key 'maxi' in field proposal.n"),
    ('version: 1\nfields:\n  n: {type: number}\n',
     "1:10 E004 contract version must be text"),
])
def test_contract_problems_are_reported_at_their_position(tmp_path: Path, contract: str,
                                                          expected: str) -> None:
    found = _errors(tmp_path, contract)
    assert any(expected in line for line in found), found


def test_a_pack_without_a_contract_does_not_load(tmp_path: Path) -> None:
    root = _pack(tmp_path, "x: 1")
    (root / "contract.yaml").unlink()
    with pytest.raises(PackError) as info:
        load_pack(root)
    assert [d.code for d in info.value.diagnostics] == ["E001"]


def test_an_unknown_path_lists_the_valid_fields_at_that_level(tmp_path: Path) -> None:
    rules = MINI_RULES.replace("path: region", "path: regoin")
    with pytest.raises(PackError) as info:
        load_pack(_pack(tmp_path, MINI_CONTRACT, rules))
    (message,) = [d.message for d in info.value.diagnostics if d.code == "E013"]
    assert "did you mean 'region'?" in message
    assert "the fields of owners[] are name, percent, licence_from, licence_until, region, " \
           "owners" in message


def test_validation_names_every_bad_field_at_once(tmp_path: Path) -> None:
    pack = load_pack(_pack(tmp_path, MINI_CONTRACT))
    try:
        pack.validate({"title": "ok", "owners": [{"name": "A", "percent": 60},
                                                 {"name": "B", "percent": 40}]})
        bad = {
            "title": "",
            "colour": 1,
            "owners": [
                {"name": "A", "percent": 30, "region": "UA-99",
                 "licence_from": "2026-05-01", "licence_until": "2026-01-01",
                 "owners": [{"name": "B", "owners": [{"name": " a "}]}]},
                {"percent": 101},
            ],
        }
        with pytest.raises(ProposalError) as info:
            pack.validate(bad)
        found = {e.path: e.message for e in info.value.errors}
        assert set(found) == {
            "title", "colour", "owners", "owners[0].region", "owners[0].licence_until",
            "owners[0].owners[0].owners[0]", "owners[1].percent", "owners[1].name"}
        assert "UA-99" in found["owners[0].region"]
        assert found["owners[0].licence_until"] == \
            "licence_until 2026-01-01 is before licence_from 2026-05-01."
        assert "this item is owners[0]" in found["owners[0].owners[0].owners[0]"]
        # every error at once, and assess refuses the same proposal
        with pytest.raises(ProposalError):
            pack.assess(bad)
    finally:
        pack.close()


def test_holdings_over_100_percent_and_depth_are_refused(tmp_path: Path) -> None:
    pack = load_pack(_pack(tmp_path, MINI_CONTRACT))
    try:
        over = {"title": "t", "owners": [{"name": "A", "percent": 60},
                                         {"name": "B", "percent": 50.5}]}
        deep: dict[str, Any] = {"name": "L3"}
        for level in (2, 1, 0):
            deep = {"name": f"L{level}", "owners": [deep]}
        with pytest.raises(ProposalError) as info:
            pack.validate(over)
        assert [(e.path, e.message) for e in info.value.errors] == [
            ("owners", "the items' percent add up to 110.5, over 100.")]
        with pytest.raises(ProposalError) as info:
            pack.validate({"title": "t", "owners": [deep]})
        assert [e.path for e in info.value.errors] == ["owners[0].owners[0].owners[0].owners"]
    finally:
        pack.close()


def _without_readers(text: str) -> str:
    """The reference without its "read by" column, which follows every rule edit."""
    return "\n".join(line.rsplit("|", 2)[0] if line.startswith("| `") else line
                     for line in text.splitlines())


def test_the_field_reference_is_current_and_names_the_readers() -> None:
    pack = load_pack(RULES)
    try:
        text = reference(pack.contract, pack.rules, pack.name)
    finally:
        pack.close()
    # the fields, types and descriptions must be current (regenerate with
    # `riskrules fields --output docs/fields.md`); the readers are checked against the pack
    committed = (ROOT / "docs" / "fields.md").read_text(encoding="utf-8")
    assert _without_readers(committed) == _without_readers(text), \
        "regenerate: riskrules fields --output docs/fields.md"
    line = next(x for x in text.splitlines() if x.startswith("| `payments.rails` |"))
    assert "DB-001" in line.rsplit("|", 2)[1]


# ---------------------------------------------------------------------------------------------
# an analyst adds technologies[].imaging_resolution_m with no Python change

IMAGING_RULE = """\
rules:
  - id: IM-001
    title: Sub-metre satellite imaging
    factor: national_security
    kind: risk
    points: 30
    at_least: escalate
    when:
      path: technologies
      some: {path: imaging_resolution_m, lt: 1}
    rationale: Sub-metre imaging is controlled; an export-control officer decides.
    source: the analyst's note
"""
IMAGING_TEST = """\
cases:
  - name: A 0.5 m imager escalates
    proposal:
      title: Imaging payload
      initiator: {name: Orbital Dynamics Inc., country: US, type: private_company}
      counterparties: [{name: Geo Co, country: JP, type: private_company, owners: []}]
      deal: {type: supply_agreement}
      sectors: [space]
      technologies:
        - {name: imager, category: satellites, export_control: not_controlled,
           imaging_resolution_m: 0.5}
    expect:
      fired: [IM-001]
      floors: [IM-001]
"""


@pytest.fixture
def imaging_pack(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(RULES, root, ignore=shutil.ignore_patterns("tests"))
    text = (root / "contract.yaml").read_text(encoding="utf-8")
    anchor = "      export_control: {type: export_control"
    assert anchor in text
    text = text.replace(anchor, "      imaging_resolution_m: {type: number, min: 0, description: "
                        "ground resolution of an imaging payload in metres, example: 0.5}\n"
                        + anchor, 1)
    (root / "contract.yaml").write_text(text, encoding="utf-8")
    (root / "imaging.yaml").write_text(IMAGING_RULE, encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "imaging.yaml").write_text(IMAGING_TEST, encoding="utf-8")
    return root


def _imaging_proposal(resolution: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(EXAMPLE))
    doc["technologies"] = [{"name": "imager", "category": "satellites",
                            "imaging_resolution_m": resolution}]
    return doc


def test_a_new_field_works_end_to_end_without_code(imaging_pack: Path, tmp_path: Path,
                                                   make_app: AppFactory,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rules = str(imaging_pack)
    assert main(["--rules", rules, "check"]) == 0
    assert main(["--rules", rules, "test"]) == 0
    proposal_file = tmp_path / "p.json"
    proposal_file.write_text(json.dumps(_imaging_proposal(0.3)))
    capsys.readouterr()
    assert main(["--rules", rules, "score", "--format", "json", str(proposal_file)]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert "IM-001" in [f["rule"] for f in scored["floors"]]
    proposal_file.write_text(json.dumps(_imaging_proposal(-1)))
    assert main(["--rules", rules, "score", str(proposal_file)]) == 2
    assert "technologies[0].imaging_resolution_m" in capsys.readouterr().err
    assert main(["--rules", rules, "fields"]) == 0
    assert "| `imaging_resolution_m` | number >= 0 |" in capsys.readouterr().out

    client = make_app(RULES_DIR=rules).test_client()
    created = client.post("/v1/assessments", json=_imaging_proposal(0.3),
                          headers=auth("submitter"))
    assert created.status_code == 201, created.json
    assert "IM-001" in [f["rule"] for f in created.json["floors"]]
    refused = client.post("/v1/assessments", json=_imaging_proposal("fine"),
                          headers=auth("submitter"))
    assert refused.status_code == 422
    assert refused.json["errors"][0]["path"] == "technologies[0].imaging_resolution_m"
    spec = client.get("/openapi.json").json
    technology = spec["components"]["schemas"]["Technology"]["properties"]
    assert technology["imaging_resolution_m"]["type"] == "number"
    assert technology["imaging_resolution_m"]["minimum"] == 0
    ruleset = client.get("/v1/ruleset", headers=auth("auditor")).json
    assert ruleset["contract"]["version"] == load_contract(RULES).version
