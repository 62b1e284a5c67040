"""The pattern syntax `matches` accepts: the subset on which durable_rules and Python agree.

durable_rules runs its own regular-expression automaton. Measured here: it matches the whole
text, `.` also matches a newline, and it silently misreads backslash escapes and non-ASCII
characters in patterns. So the language admits exactly the constructs measured to agree with
`re.fullmatch(pattern, text, re.DOTALL)`, and refuses the rest at compile time.
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
