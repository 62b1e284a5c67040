"""The one error hierarchy of riskrules: every failure has a stable code and, where it has one, a position.

The API and the CLI turn these into problem documents and `FILE:LINE:COL: CODE message`
lines in one place each; nothing else in the code base invents error codes. Errors carry no
HTTP status: the API maps exception types to statuses in api/errors.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, order=True)
class Position:
    """Where something is in a rule-pack file: 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(str, Enum):
    """Errors stop a pack from loading; warnings are reported and fail only `check --strict`."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One finding of the pack compiler or linter."""

    code: str
    message: str
    position: Position
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.position}: {self.code} {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.position.file,
            "line": self.position.line,
            "column": self.position.column,
            "code": str(self.code),
            "severity": self.severity.value,
            "message": self.message,
        }


@dataclass(frozen=True)
class FieldError:
    """One offending input field, named by its path (`counterparties[0].country`)."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class RiskrulesError(Exception):
    """Root of every error riskrules raises on purpose. `code` is stable."""

    code = "RR000"
    title = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PackError(RiskrulesError):
    """A rule pack failed to load: carries every error diagnostic found, not just the first."""

    code = "RR100"
    title = "Invalid rule pack"

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity is Severity.ERROR]
        first = str(errors[0]) if errors else "no diagnostics"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"rule pack has {len(errors)} error(s): {first}{more}")


class ProposalError(RiskrulesError):
    """A proposal breaks the proposal contract; lists every offending field."""

    code = "RR200"
    title = "Invalid proposal"

    def __init__(self, errors: Iterable[FieldError], detail: str | None = None) -> None:
        self.errors = tuple(errors)
        super().__init__(detail or f"proposal breaks the contract in {len(self.errors)} field(s)")


class EngineError(RiskrulesError):
    """The matching core misbehaved (runaway actions, time limit, unexpected durable_rules state)."""

    code = "RR300"
    title = "Rule engine failure"


class RulesetRejected(EngineError):
    """durable_rules refused to build a compiled ruleset (e.g. a rule beyond its size limits)."""

    code = "RR302"
    title = "Ruleset refused by the matching core"


class RunawayEvaluation(EngineError):
    """An evaluation fired more actions, or ran longer, than its bound allows."""

    code = "RR301"
    title = "Runaway rule evaluation"


class NoPack(EngineError):
    """No pack is being served: none loaded yet, or the holder was closed (engine.holder)."""

    code = "RR303"
    title = "No rule pack loaded"


class ListImportError(RiskrulesError):
    """A watchlist or reference-list file could not be read in the announced format."""

    code = "RR400"
    title = "Invalid list file"

    def __init__(self, detail: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(detail)
        self.diagnostics = tuple(diagnostics)  # each problem at its FILE:LINE:COL, when known


@dataclass
class DiagnosticSink:
    """Collects diagnostics so that validation reports every problem at once."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, position: Position) -> None:
        self.items.append(Diagnostic(code, message, position, Severity.ERROR))

    def warning(self, code: str, message: str, position: Position) -> None:
        self.items.append(Diagnostic(code, message, position, Severity.WARNING))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: (d.position, d.code, d.message))
