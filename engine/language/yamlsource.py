"""YAML text → located nodes: every mapping, sequence and scalar keeps its file, line and column;
and the one reader of those nodes (`Reader`) that pack files, the contract file, rule tests and
watchlists are read with.

PyYAML's composer gives positions but its constructor throws them away and silently keeps the
last of duplicate keys; rule authors need both, so we build our own thin tree from the nodes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from engine.codes import Code
from engine.errors import DiagnosticSink, Position
from engine.language.hints import suggest


@dataclass
class YScalar:
    """A scalar with its resolved Python value (str, int, float, bool, None, date)."""

    value: object
    pos: Position


@dataclass
class YSeq:
    items: list[YNode]
    pos: Position


@dataclass
class YMap:
    """A mapping; `keys` keeps the position of each key for 'unknown key' errors."""

    values: dict[str, YNode]
    keys: dict[str, Position]
    pos: Position
    order: list[str] = field(default_factory=list)

    def get(self, key: str) -> YNode | None:
        return self.values.get(key)


YNode = YScalar | YSeq | YMap


def _position(file: str, node: yaml.Node) -> Position:
    mark = node.start_mark
    return Position(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str, loader: yaml.SafeLoader, sink: DiagnosticSink) -> None:
        self.file = file
        self.loader = loader
        self.sink = sink

    def build(self, node: yaml.Node, depth: int = 0) -> YNode:
        pos = _position(self.file, node)
        if depth > 64:
            self.sink.error(Code.UNREADABLE, "document nested more than 64 levels deep", pos)
            return YScalar(None, pos)
        if isinstance(node, yaml.MappingNode):
            values: dict[str, YNode] = {}
            keys: dict[str, Position] = {}
            order: list[str] = []
            for key_node, value_node in node.value:
                key_pos = _position(self.file, key_node)
                if not isinstance(key_node, yaml.ScalarNode):
                    self.sink.error(Code.WRONG_TYPE, "mapping keys must be plain names", key_pos)
                    continue
                key = str(key_node.value)
                if key == "<<":
                    self.sink.error(Code.WRONG_TYPE, "YAML merge keys (<<) are not supported", key_pos)
                    continue
                if key in values:
                    self.sink.error(Code.DUPLICATE_KEY, f"duplicate key '{key}' (first at line "
                                    f"{keys[key].line})", key_pos)
                    continue
                values[key] = self.build(value_node, depth + 1)
                keys[key] = key_pos
                order.append(key)
            return YMap(values, keys, pos, order)
        if isinstance(node, yaml.SequenceNode):
            return YSeq([self.build(item, depth + 1) for item in node.value], pos)
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.sink.error(Code.UNREADABLE, f"invalid scalar: {exc}", pos)
            value = None
        return YScalar(value, pos)


def parse_yaml(text: str, file: str, sink: DiagnosticSink) -> YNode | None:
    """Parse one YAML document; syntax errors go to `sink` with their position and give None."""
    try:
        # The reader refuses control characters (a form feed pasted from a word processor)
        # while it is built, before any mark exists: position the offending character here.
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        before = text[:exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        sink.error(Code.UNREADABLE, f"YAML syntax: unprintable character #x{exc.character:04x} (YAML "
                   "allows no control characters, even in comments)", Position(file, line, col))
        return None
    try:
        root = loader.get_single_node()
        if root is None:
            sink.error(Code.UNREADABLE, "file is empty", Position(file, 1, 1))
            return None
        if _has_alias(root, set()):
            sink.error(Code.UNREADABLE, "YAML anchors and aliases are not supported in rule packs",
                       _position(file, root))
            return None
        return _Builder(file, loader, sink).build(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        sink.error(Code.UNREADABLE, f"YAML syntax: {explain_syntax_error(exc, text)}",
                   Position(file, line, col))
        return None
    except yaml.YAMLError as exc:
        sink.error(Code.UNREADABLE, f"YAML syntax: {exc}", Position(file, 1, 1))
        return None
    finally:
        loader.dispose()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _key_line_above(lines: list[str], index: int) -> int | None:
    """The index of the nearest non-blank, non-comment line above `index`."""
    for i in range(index - 1, -1, -1):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("#"):
            return i
    return None


def _key_of(line: str) -> str:
    """'kind' of '    kind: risk', 'id' of '  - id: A'."""
    body = line.strip().removeprefix("- ").strip()
    return body.split(":", 1)[0].strip() if ":" in body else body


# Complexity E (33, radon), kept in one piece: a table of PyYAML's messages, one branch each; the
# branches also read the lines around the error, which a lookup table cannot.
def explain_syntax_error(exc: yaml.MarkedYAMLError, text: str) -> str:
    """PyYAML's parser message in words an analyst can act on (at the same position), with
    the parser's own words kept at the end in parentheses for searching."""
    problem = str(exc.problem or exc)
    said = f" (YAML: {problem})"
    mark, context = exc.problem_mark, exc.context_mark
    lines = text.splitlines()
    row = mark.line if mark else 0
    line = lines[row] if row < len(lines) else ""
    above = _key_line_above(lines, row)
    prev = lines[above] if above is not None else ""
    if problem == "mapping values are not allowed here" and mark is not None:
        before = line[:mark.column]
        if ": " in before or before.rstrip().endswith(":"):
            return ("a value contains ': ' (a colon and a space), which YAML reads as a new "
                    "key: put the whole value in quotes" + said)
        if above is not None and _indent(line) > _indent(prev):
            return (f"this line is indented deeper than the key above it ('{_key_of(prev)}' on "
                    f"line {above + 1}): keys of the same rule or mapping start in the same "
                    f"column; move it to column {_indent(prev) + 1 + _dash(prev)}" + said)
        return "a ':' where YAML expects none: quote the value if it contains ': '" + said
    if problem.startswith("expected <block end>, but found"):
        if line.lstrip().startswith("- "):
            return ("this list item is not aligned with the items of its list: every '- ' of "
                    "one list starts in the same column" + said)
        if above is not None and _indent(line) < _indent(prev) + _dash(prev):
            return (f"this line is indented less than the key above it ('{_key_of(prev)}' on "
                    f"line {above + 1}) but not as far as an enclosing key: align it with the "
                    f"keys of its mapping (column {_indent(prev) + 1 + _dash(prev)})" + said)
        return ("this line does not line up with the lines above it: check its indentation "
                "(spaces only, same column as its sibling keys)" + said)
    if "'\\t'" in problem or "\t" in problem:
        return "a tab character: YAML indents with spaces only; replace the tab with spaces" + said
    if problem.startswith("found character") and "cannot start any token" in problem:
        char = problem.split("'")[1] if "'" in problem else "?"
        return f"a value cannot start with '{char}' in YAML: put the value in quotes" + said
    if problem.startswith("found undefined alias"):
        return "a value cannot start with '*' in YAML (it means an alias): put it in quotes" + said
    if problem.startswith("expected ',' or ']'") and context is not None:
        return (f"the '[' opened on line {context.line + 1}, column {context.column + 1} is not "
                "closed: end the list with ']' (or separate its items with ',')" + said)
    if problem.startswith("expected ',' or '}'") and context is not None:
        return (f"the '{{' opened on line {context.line + 1}, column {context.column + 1} is not "
                "closed: end it with '}' (or separate its entries with ',')" + said)
    if problem == "found unexpected end of stream" and context is not None \
            and "quoted scalar" in (exc.context or ""):
        return (f"the quote opened on line {context.line + 1}, column {context.column + 1} is "
                "never closed: add the closing quote" + said)
    if problem == "could not find expected ':'" and context is not None:
        return (f"line {context.line + 1} has no ':' after its key: write 'key: value' (or put "
                "a text that runs over several lines in quotes)" + said)
    if problem.startswith("found unknown escape character"):
        return ("an unknown '\\' escape in a double-quoted text: use single quotes, or write "
                "'\\\\' for a backslash" + said)
    if "another document" in problem:
        return "a second YAML document ('---'): a pack file holds one document" + said
    return problem


def _dash(line: str) -> int:
    """Columns taken by a leading '- ' (keys of a list item start after it)."""
    stripped = line.lstrip(" ")
    return 2 if stripped.startswith("- ") else 0


def _has_alias(node: yaml.Node, seen: set[int]) -> bool:
    """Aliases make a tree a graph (and enable billion-laughs documents): refuse them."""
    if id(node) in seen:
        return True
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        return any(_has_alias(k, seen) or _has_alias(v, seen) for k, v in node.value)
    if isinstance(node, yaml.SequenceNode):
        return any(_has_alias(item, seen) for item in node.value)
    return False


def unquoted_dates(node: YNode) -> list[YScalar]:
    """The scalars under `node` that YAML resolved to dates (written without quotes): editors'
    YAML servers read them as text, PyYAML as dates, so the same file means two things."""
    if isinstance(node, YMap):
        return [s for v in node.values.values() for s in unquoted_dates(v)]
    if isinstance(node, YSeq):
        return [s for item in node.items for s in unquoted_dates(item)]
    return [node] if isinstance(node.value, dt.date) else []


def plain(node: YNode) -> object:
    """The node as plain Python data (for digests and JSON Schema checks)."""
    if isinstance(node, YMap):
        return {k: plain(v) for k, v in node.values.items()}
    if isinstance(node, YSeq):
        return [plain(item) for item in node.items]
    return node.value


def read_file(path: Path, label: str, sink: DiagnosticSink) -> YNode | None:
    """Read and parse one pack file; unreadable or non-UTF-8 files are diagnostics, not crashes."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        sink.error(Code.UNREADABLE, f"cannot read file: {exc}", Position(label, 1, 1))
        return None
    return parse_yaml(text, label, sink)


def read_date(node: YNode | None, what: str, sink: DiagnosticSink) -> dt.date | None:
    """A YYYY-MM-DD date (text, or YAML's own dates with a W004); anything else is an E004."""
    if node is None:
        return None
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        sink.warning(Code.UNQUOTED_DATE, f"{what} {day.isoformat()} is not quoted: write "
                     f"\"{day.isoformat()}\" so that editors and scripts read the same text",
                     node.pos)
        return day
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    sink.error(Code.WRONG_TYPE, f"{what} must be a date (YYYY-MM-DD)", node.pos)
    return None


class Reader:
    """Typed accessors over located YAML that report, rather than raise, on bad shapes: the one
    reader of pack files, rule files, list files, the contract file, rule tests and watchlists.

    Every accessor takes the node (None when the key is absent: nothing to report) and `what`,
    the words naming it in a message. `code`, when given, is reported instead of the shape codes
    (E004 wrong type, E002 unknown key, E003 missing key) by files with a code of their own."""

    def __init__(self, sink: DiagnosticSink, code: Code | None = None) -> None:
        self.sink = sink
        self.code = code

    def error(self, code: Code, message: str, pos: Position) -> None:
        self.sink.error(self.code or code, message, pos)

    def mapping(self, node: YNode | None, what: str, pos: Position) -> YMap | None:
        if isinstance(node, YMap):
            return node
        self.error(Code.WRONG_TYPE, f"{what} must be a mapping", node.pos if node else pos)
        return None

    def keys(self, node: YMap, allowed: Sequence[str], required: Sequence[str], what: str,
             confusions: dict[str, str] | None = None, *, listing: str | None = None) -> None:
        """Report each unknown key (with the fix of a known confusion, or a close allowed key)
        and each missing required key. `listing` names the allowed keys after the message
        (`(listing: a, b)`); with `confusions` they are listed as the keys of a `what`."""
        if listing is None and confusions:
            listing = f"the keys of a {what}"
        for key in node.order:
            if key not in allowed:
                if confusions and confusions.get(key) in allowed:
                    hint = f": write '{confusions[key]}'"
                else:
                    hint = suggest(key, allowed)
                hint += f" ({listing}: {', '.join(allowed)})" if listing else ""
                self.error(Code.UNKNOWN_KEY, f"unknown key '{key}' in {what}{hint}", node.keys[key])
        for key in required:
            if key not in node.values:
                self.error(Code.MISSING_KEY, f"{what} needs '{key}'", node.pos)

    def text(self, node: YNode | None, what: str, *, pattern: re.Pattern[str] | None = None,
             max_length: int = 10_000) -> str | None:
        """Text of 1 to `max_length` characters, matching `pattern` when given."""
        if node is None:
            return None
        if not isinstance(node, YScalar) or not isinstance(node.value, str):
            hint = ""
            if isinstance(node, YScalar) and node.value is not None and \
                    not isinstance(node.value, str):
                hint = f" (YAML read it as {type(node.value).__name__} {node.value!r}: quote it)"
            self.error(Code.WRONG_TYPE, f"{what} must be text{hint}", node.pos)
            return None
        if pattern is not None and not pattern.match(node.value):
            self.error(Code.WRONG_TYPE, f"{what} '{node.value}' must match {pattern.pattern}",
                       node.pos)
            return None
        if not node.value.strip() or len(node.value) > max_length:
            self.error(Code.WRONG_TYPE, f"{what} must be 1 to {max_length} characters", node.pos)
            return None
        return node.value

    def nonempty(self, node: YNode | None, what: str) -> str | None:
        """Text that is not blank (rule tests and watchlists, which set no length)."""
        if node is None:
            return None
        if not isinstance(node, YScalar) or not isinstance(node.value, str) or not node.value.strip():
            self.error(Code.WRONG_TYPE, f"{what} must be non-empty text", node.pos)
            return None
        return node.value

    def texts(self, node: YNode | None, what: str, of: str, item: str) -> list[str]:
        """A list of non-blank texts; `of` names the items in the list's message, `item` one
        item in its own."""
        out = []
        for each in self.seq(node, what, of):
            value = self.nonempty(each, item)
            if value is not None:
                out.append(value)
        return out

    def number(self, node: YNode | None, what: str) -> float | None:
        if node is None:
            return None
        if (not isinstance(node, YScalar) or isinstance(node.value, bool)
                or not isinstance(node.value, int | float)
                or not math.isfinite(node.value)):
            self.error(Code.WRONG_TYPE, f"{what} must be a finite number", node.pos)
            return None
        return float(node.value)

    def boolean(self, node: YNode | None, what: str) -> bool | None:
        if node is None:
            return None
        if not isinstance(node, YScalar) or not isinstance(node.value, bool):
            self.error(Code.WRONG_TYPE, f"{what} must be true or false", node.pos)
            return None
        return node.value

    def date(self, node: YNode | None, what: str) -> dt.date | None:
        return read_date(node, what, self.sink)

    def seq(self, node: YNode | None, what: str, of: str | None = None) -> list[YNode]:
        """The items of a list (`of` names them in the message)."""
        if node is None:
            return []
        if not isinstance(node, YSeq):
            self.error(Code.WRONG_TYPE, f"{what} must be a list{' of ' + of if of else ''}", node.pos)
            return []
        return node.items
