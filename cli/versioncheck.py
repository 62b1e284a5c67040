"""W050 for `riskrules check`: the pack's scoring files changed since a git revision, but the
`version` in pack.yaml did not.

Assessments record the pack's name, version and digest. The digest changes with any edit of a
scoring file; the version is what people read, so two rule sets under one version confuse an
audit ("1.7.1 approved it" — which 1.7.1?). The pack at the base revision (HEAD by default,
`check --base origin/main` in a CI pipeline) is taken from git into a temporary directory and
loaded; when its digest differs from the working pack's and its version is the same, `check`
warns at pack.yaml's `version`. A pack outside a git work tree, a base without the pack, or a
base pack that does not load is nothing to compare against: no warning.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from cli.gitrev import Checkout, RevisionError
from engine import PackError, load_pack
from engine.codes import Code
from engine.errors import Diagnostic, DiagnosticSink, Position
from engine.language.yamlsource import YMap, parse_yaml
from engine.pack import PACK_FILE


class BaseNotFound(Exception):
    """`--base REF` names no commit of the repository holding the pack."""


def version_position(pack_yaml: Path) -> Position:
    """Where pack.yaml's `version` value is (the file's start when it cannot be read)."""
    fallback = Position(str(pack_yaml), 1, 1)
    try:
        text = pack_yaml.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return fallback
    node = parse_yaml(text, str(pack_yaml), DiagnosticSink())
    if isinstance(node, YMap) and (version := node.get("version")) is not None:
        return version.pos
    return fallback


def _base_pack(root: Path, base: str, explicit: bool) -> tuple[str, str] | None:
    """(digest, version) of the pack in `root` as it was at `base`, or None when there is
    nothing to compare against."""
    try:
        checkout = Checkout(root)
    except RevisionError:
        return None  # no git, or not in a work tree
    try:
        sha = checkout.commit(base)
    except RevisionError as exc:
        if explicit:
            raise BaseNotFound(f"--base {base}: {exc}") from None
        return None  # a repository without commits yet
    if not checkout.exists_at(sha, PACK_FILE) or not checkout.changed_since(sha):
        return None  # new since base, or unchanged
    with contextlib.ExitStack() as stack:
        try:
            directory, _ = checkout.export(sha, stack, "riskrules-base-")
            before = load_pack(directory, extra_diagnostics=False)
        except (RevisionError, PackError):
            return None  # nothing loadable to compare against
        try:
            return before.digest, before.version
        finally:
            before.close()


def version_warnings(root: Path, digest: str, version: str, base: str = "HEAD",
                     *, explicit: bool = False) -> list[Diagnostic]:
    """W050 when the pack in `root` (with `digest` and `version`) changed since git revision
    `base` but kept its version. Raises BaseNotFound for an `explicit` base git does not know;
    an implicit HEAD that does not exist (no commit yet) is no warning."""
    found = _base_pack(root, base, explicit)
    if found is None:
        return []
    base_digest, base_version = found
    if base_digest == digest or base_version != version:
        return []
    return [Diagnostic(
        Code.VERSION_NOT_BUMPED,
        f"the pack's scoring files changed since {base} (digest {base_digest[:19]}… → "
        f"{digest[:19]}…) but its version is still {version!r}: bump it",
        version_position(root / PACK_FILE), Code.VERSION_NOT_BUMPED.severity)]
