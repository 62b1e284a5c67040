"""A pack directory as it was at a git revision: what `riskrules diff --base REV` compares
against and what `riskrules check` reads for W050.

git runs with a fixed argument vector and no shell; a revision starting with `-` is refused
before it reaches git. The pack's path at the revision is exported with `git archive` into a
temporary directory that the caller's ExitStack removes.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

GIT_TIMEOUT_S = 60


class RevisionError(Exception):
    """The directory is not in a git work tree, the revision is unknown, or the path cannot be
    read at it. The message says which, and why."""


def _git(git: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    # Fixed argument vector, no shell; the revision was checked not to be an option.
    return subprocess.run([git, *args], cwd=cwd, capture_output=True,  # noqa: S603
                          timeout=GIT_TIMEOUT_S, check=False)


class Checkout:
    """The git work tree holding `directory`, and `directory`'s path inside it."""

    def __init__(self, directory: Path) -> None:
        git = shutil.which("git")
        if git is None:
            raise RevisionError("git is not installed")
        if not directory.is_dir():
            raise RevisionError(f"{directory} is not a directory")
        top = _git(git, directory, "rev-parse", "--show-toplevel")
        if top.returncode != 0:
            raise RevisionError(f"{directory} is not inside a git repository")
        self.git = git
        self.root = Path(top.stdout.decode().strip())
        try:
            relative = directory.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise RevisionError(f"{directory} is not inside {self.root}") from None
        self.pathspec = relative or "."

    def commit(self, revision: str) -> str:
        """The commit `revision` names (RevisionError when it names none)."""
        if revision.startswith("-") or not revision.strip():
            raise RevisionError(f"{revision!r} is not a git revision")
        found = _git(self.git, self.root, "rev-parse", "--verify", "--quiet",
                     f"{revision}^{{commit}}")
        if found.returncode != 0:
            raise RevisionError(f"{revision} is not a git revision of {self.root}")
        return found.stdout.decode().strip()

    def exists_at(self, sha: str, name: str) -> bool:
        """Whether `name` (relative to the directory) exists at commit `sha`."""
        path = name if self.pathspec == "." else f"{self.pathspec}/{name}"
        return bool(_git(self.git, self.root, "ls-tree", "--name-only", sha, "--",
                         path).stdout.strip())

    def changed_since(self, sha: str) -> bool:
        """Whether anything in the directory differs from `sha`: edits or untracked files."""
        tracked = _git(self.git, self.root, "diff", "--quiet", sha, "--", self.pathspec)
        if tracked.returncode != 0:
            return True  # 1: differences; anything else: git could not tell, so compare
        untracked = _git(self.git, self.root, "ls-files", "--others", "--exclude-standard",
                         "--", self.pathspec)
        return bool(untracked.stdout.strip())

    def export(self, sha: str, stack: contextlib.ExitStack, prefix: str) -> tuple[Path, Path]:
        """The directory as it was at `sha`, in a temporary directory `stack` removes: (the
        directory, the temporary root to rename in messages)."""
        archive = _git(self.git, self.root, "archive", "--format=tar", sha, "--", self.pathspec)
        if archive.returncode != 0:
            detail = archive.stderr.decode(errors="replace").strip()
            raise RevisionError(f"cannot read {self.pathspec} at {sha[:12]}: {detail}")
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        with tarfile.open(fileobj=io.BytesIO(archive.stdout), mode="r:") as tar:
            tar.extractall(tmp, filter="data")
        directory = tmp if self.pathspec == "." else tmp / self.pathspec
        if not directory.is_dir():
            raise RevisionError(f"{self.pathspec} does not exist at {sha[:12]}")
        return directory, tmp
