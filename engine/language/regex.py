"""The pattern syntax of `matches`: whole-text, a small safe subset of regular expressions.

Patterns are decided by Python's `re` (`re.fullmatch(pattern, text, re.DOTALL)`) in the fact
builder, because durable_rules' own `$mt` automaton answers wrongly on ordinary patterns
(measured: `.*[Ll]aunch.*` does not match "launch deal"). The subset stays small (no escapes,
anchors, look-arounds, non-ASCII) so that patterns stay readable for analysts and so that a
pack written today keeps its meaning if the matching moves into the core again.
"""

from __future__ import annotations

import re

_FORBIDDEN = {
    "\\": "backslash escapes are not supported; use a class such as [.] for a literal dot",
    "^": "anchors are implicit (the whole text must match); '^' is only allowed as [^...]",
    "$": "anchors are implicit (the whole text must match)",
}


class RegexError(ValueError):
    """The pattern is invalid or outside the supported subset."""


def check_pattern(pattern: str) -> None:
    """Raise RegexError unless `pattern` is valid and inside the supported subset."""
    if not pattern:
        raise RegexError("the pattern is empty")
    if not pattern.isascii() or not pattern.isprintable():
        raise RegexError("patterns must be printable ASCII (use . or a class for other letters)")
    if "(?" in pattern:
        raise RegexError("group options and look-arounds (?...) are not supported")
    for index, char in enumerate(pattern):
        if char in _FORBIDDEN and not (char == "^" and index > 0 and pattern[index - 1] == "["):
            raise RegexError(_FORBIDDEN[char])
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RegexError(str(exc)) from exc


def full_match(pattern: str, text: str) -> bool:
    """The reference semantics of `matches` (used by the reference interpreter and evidence)."""
    return re.fullmatch(pattern, text, re.DOTALL) is not None
