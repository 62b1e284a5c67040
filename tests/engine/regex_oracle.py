"""An independent oracle for `matches`: a small backtracking matcher of the pattern subset,
written from its documentation (literals, ., [a-z], [^0-9], * + ? {m,n}, | and groups; the
whole text must match; . matches any character, a newline included), sharing no code with
engine.language.regex or Python's `re`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class _Chars:
    """One character: a literal, `.` (every character), or a class of ranges."""

    ranges: tuple[tuple[str, str], ...]
    negated: bool = False
    anything: bool = False

    def accepts(self, char: str) -> bool:
        if self.anything:
            return True
        inside = any(low <= char <= high for low, high in self.ranges)
        return inside is not self.negated


@dataclass(frozen=True)
class _Repeat:
    node: object
    least: int
    most: int | None


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.text, self.at = pattern, 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def alternatives(self) -> list[list[_Repeat]]:
        out = [self.sequence()]
        while self.peek() == "|":
            self.at += 1
            out.append(self.sequence())
        return out

    def sequence(self) -> list[_Repeat]:
        out: list[_Repeat] = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            least, most = self.quantifier()
            out.append(_Repeat(atom, least, most))
        return out

    def atom(self) -> object:
        char = self.peek()
        self.at += 1
        if char == "(":
            inner = self.alternatives()
            assert self.peek() == ")", "unbalanced group"
            self.at += 1
            return inner
        if char == ".":
            return _Chars((), anything=True)
        if char == "[":
            return self.chars()
        return _Chars(((char, char),))

    def chars(self) -> _Chars:
        negated = self.peek() == "^"
        self.at += negated
        ranges: list[tuple[str, str]] = []
        first = True
        while first or self.peek() != "]":
            first = False
            low = self.peek()
            self.at += 1
            if self.peek() == "-" and self.at + 1 < len(self.text) and self.text[self.at + 1] != "]":
                ranges.append((low, self.text[self.at + 1]))
                self.at += 2
            else:
                ranges.append((low, low))
        self.at += 1
        return _Chars(tuple(ranges), negated)

    def quantifier(self) -> tuple[int, int | None]:
        char = self.peek()
        bounds = {"*": (0, None), "+": (1, None), "?": (0, 1)}.get(char)
        if bounds is not None:
            self.at += 1
        elif char == "{":
            end = self.text.find("}", self.at)
            body = self.text[self.at + 1:end] if end > 0 else ""
            low, comma, high = body.partition(",")
            if body and (low.isdigit() or (comma and not low)) and (not high or high.isdigit()):
                bounds = (int(low or 0), int(high) if high else (None if comma else int(low)))
                self.at = end + 1
        if bounds is None:
            return 1, 1
        if self.peek() == "?":  # lazy: the same language for a whole-text match
            self.at += 1
        return bounds


def _ends(node: object, text: str, at: int) -> Iterator[int]:
    """Every position where `node` can stop matching when it starts at `at`."""
    if isinstance(node, _Chars):
        if at < len(text) and node.accepts(text[at]):
            yield at + 1
    elif isinstance(node, list):  # alternatives, each a sequence
        for sequence in node:
            yield from _sequence(sequence, text, at)
    else:
        assert isinstance(node, _Repeat)
        yield from _repeat(node, text, at, 0)


def _sequence(items: list[_Repeat], text: str, at: int) -> Iterator[int]:
    if not items:
        yield at
        return
    for middle in _ends(items[0], text, at):
        yield from _sequence(items[1:], text, middle)


def _repeat(node: _Repeat, text: str, at: int, done: int) -> Iterator[int]:
    if done >= node.least:
        yield at
    if node.most is not None and done >= node.most:
        return
    for end in _ends(node.node, text, at):
        if end == at and done >= node.least:
            continue  # an empty iteration adds nothing once the minimum is met
        yield from _repeat(node, text, end, done + 1)


def full_match(pattern: str, text: str) -> bool:
    parser = _Parser(pattern)
    tree = parser.alternatives()
    assert parser.at == len(pattern), f"unparsed rest of {pattern!r}"
    return any(end == len(text) for end in _ends(tree, text, 0))
