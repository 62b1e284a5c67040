"""pack.yaml and list files read into the syntax tree: the pack's settings (factors, bands,
knockouts, screening, review) and its reference lists, every problem with its position.

Rule files are `engine.language.parser`'s; both read located YAML with the one
`yamlsource.Reader`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

from engine.codes import Code
from engine.errors import DiagnosticSink, Position
from engine.language import hints, syntax
from engine.language.contract import (
    is_country,
    is_currency,
    is_subdivision,
)
from engine.language.yamlsource import Reader, YNode, YScalar, YSeq, read_date

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
LIST_KINDS = ("country", "subdivision", "currency", "string")

PACK_KEYS = ("name", "version", "description", "factors", "bands", "knockouts", "screening",
             "incomplete_decision", "review")
FACTOR_KEYS = ("id", "label", "weight", "description")
BAND_KEYS = ("band", "min", "decision")
LIST_KEYS = ("name", "description", "kind", "as_of", "source", "entries")
ENTRY_KEYS = ("value", "note", "source", "since")
KNOCKOUT_KEYS = ("decision",)
SCREENING_KEYS = ("threshold", "watchlists", "max_age_days", "production")
REVIEW_KEYS = ("four_eyes",)
# Required keys of each mapping (the JSON Schemas for editors are generated from these too).
PACK_REQUIRED = ("name", "version", "factors", "bands")
FACTOR_REQUIRED = ("id", "label", "weight")
SCREENING_REQUIRED = ("threshold",)
LIST_REQUIRED = ("kind", "entries", "as_of", "source")
ENTRY_REQUIRED = ("value",)


# ---------------------------------------------------------------------------------------------
# pack.yaml


# Complexity D (23, radon), kept in one piece: walks pack.yaml's keys in order, each problem
# reported at its position.
def parse_pack_settings(node: YNode | None, label: str, sink: DiagnosticSink) -> dict[str, object]:
    """Validate pack.yaml; returns the settings that could be read (errors go to `sink`)."""
    r = Reader(sink)
    out: dict[str, object] = {"name": "", "version": "", "description": "", "factors": (),
                              "bands": (), "knockout_decision": "reject", "screening": None,
                              "incomplete_decision": "review", "four_eyes": False}
    if node is None:  # unreadable: already reported
        return out
    root = r.mapping(node, "pack.yaml", Position(label, 1, 1))
    if root is None:
        return out
    r.keys(root, PACK_KEYS, PACK_REQUIRED, "pack.yaml")
    out["name"] = r.text(root.get("name"), "pack name", max_length=100) or ""
    version = root.get("version")
    if isinstance(version, YScalar) and isinstance(version.value, int | float) \
            and not isinstance(version.value, bool):
        sink.error(Code.WRONG_TYPE, f"version must be text: quote it (\"{version.value}\")", version.pos)
    else:
        out["version"] = r.text(version, "version", max_length=50) or ""
    out["description"] = r.text(root.get("description"), "description") or ""
    out["factors"] = _factors(r, root.get("factors"), root.pos)
    out["bands"] = _bands(r, root.get("bands"), root.pos)
    knockouts = root.get("knockouts")
    if knockouts is not None:
        kmap = r.mapping(knockouts, "knockouts", root.pos)
        if kmap is not None:
            r.keys(kmap, KNOCKOUT_KEYS, KNOCKOUT_KEYS, "knockouts")
            decision = r.text(kmap.get("decision"), "knockout decision")
            if decision is not None and decision not in syntax.DECISIONS:
                sink.error(Code.BAD_VALUE, f"knockout decision must be one of {', '.join(syntax.DECISIONS)}",
                           kmap.values["decision"].pos)
            elif decision:
                out["knockout_decision"] = decision
    screening = root.get("screening")
    if screening is not None:
        out["screening"] = _screening(r, screening, root.pos)
    incomplete = r.text(root.get("incomplete_decision"), "incomplete_decision")
    if incomplete is not None and incomplete not in syntax.INCOMPLETE_DECISIONS:
        sink.error(Code.BAD_VALUE, "incomplete_decision must be one of "
                   f"{', '.join(syntax.INCOMPLETE_DECISIONS)} (an approval is never provisional)",
                   root.values["incomplete_decision"].pos)
    elif incomplete:
        out["incomplete_decision"] = incomplete
    review = root.get("review")
    if review is not None:
        rmap = r.mapping(review, "review", root.pos)
        if rmap is not None:
            r.keys(rmap, REVIEW_KEYS, (), "review")
            four_eyes = rmap.get("four_eyes")
            if four_eyes is not None:
                if isinstance(four_eyes, YScalar) and isinstance(four_eyes.value, bool):
                    out["four_eyes"] = four_eyes.value
                else:
                    sink.error(Code.WRONG_TYPE, "review.four_eyes must be true or false", four_eyes.pos)
    return out


def _factors(r: Reader, node: YNode | None, pos: Position) -> tuple[syntax.Factor, ...]:
    factors: list[syntax.Factor] = []
    seen: set[str] = set()
    items = r.seq(node, "factors")
    if node is not None and not items and isinstance(node, YSeq):
        r.sink.error(Code.EMPTY, "a pack needs at least one factor", node.pos)
    for item in items:
        m = r.mapping(item, "a factor", pos)
        if m is None:
            continue
        r.keys(m, FACTOR_KEYS, FACTOR_REQUIRED, "factor")
        fid = r.text(m.get("id"), "factor id", pattern=NAME)
        label = r.text(m.get("label"), "factor label", max_length=200)
        weight = r.number(m.get("weight"), "factor weight")
        if weight is not None and weight <= 0:
            r.sink.error(Code.BAD_SETTINGS, "factor weight must be greater than 0", m.values["weight"].pos)
            weight = None
        if fid and fid in seen:
            r.sink.error(Code.DUPLICATE_ID, f"duplicate factor id '{fid}'", m.values["id"].pos)
            continue
        if fid and label and weight is not None:
            seen.add(fid)
            factors.append(syntax.Factor(fid, label, weight,
                                      r.text(m.get("description"), "description") or "", m.pos))
    return tuple(factors)


def _bands(r: Reader, node: YNode | None, pos: Position) -> tuple[syntax.Band, ...]:
    bands: list[syntax.Band] = []
    for item in r.seq(node, "bands"):
        m = r.mapping(item, "a band", pos)
        if m is None:
            continue
        r.keys(m, BAND_KEYS, BAND_KEYS, "band")
        name = r.text(m.get("band"), "band")
        low = r.number(m.get("min"), "band min")
        decision = r.text(m.get("decision"), "decision")
        if name is not None and name not in syntax.BAND_NAMES:
            r.sink.error(Code.BAD_VALUE, f"band must be one of {', '.join(syntax.BAND_NAMES)}",
                         m.values["band"].pos)
            name = None
        if decision is not None and decision not in syntax.DECISIONS:
            r.sink.error(Code.BAD_VALUE, f"decision must be one of {', '.join(syntax.DECISIONS)}",
                         m.values["decision"].pos)
            decision = None
        if low is not None and not 0 <= low <= 100:
            r.sink.error(Code.BAD_SETTINGS, "band min must be between 0 and 100", m.values["min"].pos)
            low = None
        if name and low is not None and decision:
            bands.append(syntax.Band(name, low, decision, m.pos))
    if node is not None and isinstance(node, YSeq):
        _check_band_order(r.sink, bands, node.pos)
    return tuple(bands)


def _check_band_order(sink: DiagnosticSink, bands: list[syntax.Band], pos: Position) -> None:
    if not bands:
        sink.error(Code.BAD_SETTINGS, "a pack needs at least one band", pos)
        return
    if bands[0].min_score != 0:
        sink.error(Code.BAD_SETTINGS, "the first band must start at min: 0", bands[0].pos)
    names = [b.name for b in bands]
    for earlier, later in itertools.pairwise(bands):
        if later.min_score <= earlier.min_score:
            sink.error(Code.BAD_SETTINGS, "band minimums must increase strictly", later.pos)
    for name in set(names):
        if names.count(name) > 1:
            sink.error(Code.DUPLICATE_ID, f"band '{name}' is declared twice", bands[names.index(name)].pos)
    if names != sorted(names, key=syntax.BAND_NAMES.index):
        sink.error(Code.BAD_SETTINGS, "bands must come in the order low, medium, high, critical", pos)


def _screening(r: Reader, node: YNode, pos: Position) -> syntax.ScreeningSettings | None:
    m = r.mapping(node, "screening", pos)
    if m is None:
        return None
    r.keys(m, SCREENING_KEYS, SCREENING_REQUIRED, "screening")
    threshold = r.number(m.get("threshold"), "screening threshold")
    if threshold is not None and not 0 < threshold <= 100:
        r.sink.error(Code.BAD_SETTINGS, "screening threshold must be in (0, 100]", m.values["threshold"].pos)
        threshold = None
    files = [r.text(item, "watchlist file") for item in r.seq(m.get("watchlists"), "watchlists")]
    max_age: int | None = None
    age_node = m.get("max_age_days")
    if age_node is not None:
        value = age_node.value if isinstance(age_node, YScalar) else None
        if type(value) is not int or value < 1:
            r.sink.error(Code.BAD_SETTINGS, "screening max_age_days must be a whole number of days, 1 or "
                         "more", age_node.pos)
        else:
            max_age = value
    production = False
    production_node = m.get("production")
    if production_node is not None:
        value = production_node.value if isinstance(production_node, YScalar) else None
        if not isinstance(value, bool):
            r.sink.error(Code.BAD_SETTINGS, "screening production must be true or false",
                         production_node.pos)
        else:
            production = value
    if threshold is None:
        return None
    return syntax.ScreeningSettings(threshold, tuple(f for f in files if f), m.pos, max_age,
                                 production)


# ---------------------------------------------------------------------------------------------
# lists


# Complexity E (32, radon), kept in one piece: walks one list file's keys in order, each problem
# reported at its position (the checker's order is the message order).
def parse_list(node: YNode | None, name: str, label: str, sink: DiagnosticSink) -> syntax.RefList | None:
    r = Reader(sink)
    if node is None:  # unreadable: already reported
        return None
    m = r.mapping(node, "a list file", Position(label, 1, 1))
    if m is None:
        return None
    r.keys(m, LIST_KEYS, LIST_REQUIRED, "list")
    declared = r.text(m.get("name"), "list name")
    if declared is not None and declared != name:
        sink.error(Code.WRONG_TYPE, f"list name '{declared}' must equal the file name '{name}'",
                   m.values["name"].pos)
    if not NAME.match(name):
        sink.error(Code.WRONG_TYPE, f"list file name '{name}' must be lower_snake_case", m.pos)
    kind = r.text(m.get("kind"), "list kind")
    if kind is not None and kind not in LIST_KINDS:
        sink.error(Code.BAD_VALUE, f"list kind '{kind}' must be one of {', '.join(LIST_KINDS)}"
                   f"{hints.suggest(kind, LIST_KINDS)}", m.values["kind"].pos)
        kind = None
    entries: list[syntax.ListEntry] = []
    seen: dict[str, Position] = {}
    for item in r.seq(m.get("entries"), "entries"):
        em = r.mapping(item, "a list entry", m.pos)
        if em is None:
            continue
        r.keys(em, ENTRY_KEYS, ENTRY_REQUIRED, "list entry")
        value = r.text(em.get("value"), "entry value", max_length=300)
        if value is None:
            continue
        vpos = em.values["value"].pos
        if kind == "country" and not is_country(value):
            sink.error(Code.BAD_VALUE, f"'{value}' is not an ISO 3166-1 alpha-2 country code"
                       f"{hints.country_code(value)}", vpos)
        elif kind == "subdivision" and not is_subdivision(value):
            sink.error(Code.BAD_VALUE, f"'{value}' is not an ISO 3166-2 subdivision code", vpos)
        elif kind == "currency" and not is_currency(value):
            sink.error(Code.BAD_VALUE, f"'{value}' is not an ISO 4217 code or crypto ticker", vpos)
        if value in seen:
            sink.error(Code.DUPLICATE_ID, f"duplicate entry '{value}' (first at line {seen[value].line})",
                       vpos)
            continue
        seen[value] = vpos
        source = r.text(em.get("source"), "entry source") or ""
        if not source:
            sink.warning(Code.LIST_ENTRY_WITHOUT_SOURCE, f"list entry '{value}' has no source", vpos)
        since_node = em.get("since")
        since = None
        if isinstance(since_node, YScalar) and isinstance(since_node.value, dt.date):
            day = read_date(since_node, "since", sink)
            since = day.isoformat() if day else None
        elif isinstance(since_node, YScalar) and since_node.value is not None:
            since = str(since_node.value)
        entries.append(syntax.ListEntry(value, r.text(em.get("note"), "entry note") or "", source,
                                     since, em.pos))
    if m.get("entries") is not None and not entries and not sink.errors:
        sink.error(Code.EMPTY, "a list needs at least one entry", m.pos)
    as_of = r.date(m.get("as_of"), "as_of")
    return syntax.RefList(name, kind or "string", r.text(m.get("description"), "description") or "",
                       as_of, r.text(m.get("source"), "list source") or "", tuple(entries), m.pos)
