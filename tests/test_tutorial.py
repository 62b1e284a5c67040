"""docs/tutorial.md cannot rot: every command in it runs here, in order, on a fresh clone.

The tutorial's fenced blocks are executed as written: each line of a ```sh block is a shell
command, run from the clone's root (exit 0 unless the block's annotation says otherwise); a
```yaml block annotated `<!-- doctest: append FILE -->` is appended to FILE. Annotations sit
on the line before a block:

    <!-- doctest: setup -->                 git clone / cd / make install (stood in for: the
                                            clone comes from a local bare copy of this
                                            working tree, the venv is this one)
    <!-- doctest: contains="TEXT" -->       the block's output must contain TEXT
    <!-- doctest: exit=1 -->                every command of the block exits 1
    <!-- doctest: aside -->                 run in a scratch copy (the state is thrown away)
    <!-- doctest: edit FILE -->             (on a ```diff block) replace the `-` lines, with
                                            their context, by the `+` lines, once

`origin` is a bare repository holding the working tree's tracked files on `main`, so that
`git fetch`, `diff --base origin/main` and `git push` work as they do against a forge.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w*)\s*$")
NOTE = re.compile(r"^<!-- doctest: (.*) -->$")

pytestmark = pytest.mark.slow


@dataclass
class Block:
    lang: str
    note: str
    lines: list[str]
    line: int  # 1-based line of the opening fence


def blocks(text: str) -> list[Block]:
    out: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        before = [ln for ln in lines[:i] if ln.strip()]
        note = NOTE.match(before[-1]) if before else None
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        out.append(Block(m[1], note[1] if note else "", lines[i + 1:end], i + 1))
        i = end + 1
    return out


def commands(block: Block) -> list[str]:
    return [ln for ln in block.lines if ln.strip() and not ln.lstrip().startswith("#")]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "GH_", "PR_", "RISKRULES_", "GIT_"))}
    env.update(HOME=str(home), GIT_AUTHOR_NAME="Ana Lyst", GIT_AUTHOR_EMAIL="ana@example.org",
               GIT_COMMITTER_NAME="Ana Lyst", GIT_COMMITTER_EMAIL="ana@example.org",
               GIT_CONFIG_NOSYSTEM="1")
    return env


def _git(*args: str, cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _origin(tmp: Path, env: dict[str, str]) -> Path:
    """A bare repository whose `main` holds the working tree's tracked files as they are."""
    seed = tmp / "seed"
    seed.mkdir()
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                             capture_output=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (seed / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, seed / name)
    _git("init", "-q", "-b", "main", cwd=seed, env=env)
    _git("add", "-A", cwd=seed, env=env)
    _git("commit", "-q", "-m", "main", cwd=seed, env=env)
    origin = tmp / "origin.git"
    _git("clone", "-q", "--bare", str(seed), str(origin), cwd=tmp, env=env)
    return origin


def test_every_command_of_the_tutorial_runs(tmp_path: Path) -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    found = blocks(text)
    assert not [b for b in found if b.lang in ("bash", "shell", "console")], \
        "write commands in ```sh blocks so that they are run"
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home)
    origin = _origin(tmp_path, env)
    cwd = tmp_path
    timings: list[tuple[float, str]] = []
    ran = 0
    for block in found:
        where = f"docs/tutorial.md:{block.line}"
        if block.lang == "yaml" and block.note.startswith("append "):
            target = cwd / block.note.removeprefix("append ").strip()
            assert target.is_file(), f"{where}: {target} does not exist"
            current = target.read_text(encoding="utf-8")
            target.write_text(current + ("" if current.endswith("\n") else "\n")
                              + "\n".join(block.lines) + "\n", encoding="utf-8")
            continue
        if block.lang == "diff" and block.note.startswith("edit "):
            target = cwd / block.note.removeprefix("edit ").strip()
            old = "\n".join(ln[1:] for ln in block.lines if ln[:1] in " -") + "\n"
            new = "\n".join(ln[1:] for ln in block.lines if ln[:1] in " +") + "\n"
            current = target.read_text(encoding="utf-8")
            assert current.count(old) == 1, f"{where}: the edit does not apply to {target}"
            target.write_text(current.replace(old, new), encoding="utf-8")
            continue
        if block.lang != "sh":
            continue
        if block.note == "setup":
            for command in commands(block):
                words = shlex.split(command)
                if words[:2] == ["git", "clone"]:
                    _git("clone", "-q", str(origin), words[3], cwd=cwd, env=env)
                elif words[0] == "cd":
                    cwd = cwd / words[1]
                elif words == ["make", "install"]:
                    (cwd / ".venv").symlink_to(ROOT / ".venv")
                else:
                    pytest.fail(f"{where}: no stand-in for the setup command {command!r}")
                ran += 1
            continue
        here = cwd
        if block.note == "aside":
            here = tmp_path / "aside"
            shutil.copytree(cwd, here, symlinks=True)
        output = ""
        exit_note = re.search(r"exit=(\d+)", block.note)
        expected = int(exit_note[1]) if exit_note else 0
        for command in commands(block):
            start = time.perf_counter()
            done = subprocess.run(["bash", "-c", command], check=False, cwd=here, env=env,
                                  capture_output=True, text=True, timeout=300)
            timings.append((time.perf_counter() - start, command))
            output += done.stdout + done.stderr
            assert done.returncode == expected, \
                f"{where}: `{command}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            ran += 1
        wanted = re.findall(r'contains="([^"]*)"', block.note)
        for needle in wanted:
            assert needle in output, f"{where}: the output does not contain {needle!r}"
    assert ran >= 15, "the tutorial runs fewer commands than expected: was a block skipped?"
    # What the walkthrough left behind: a pushed branch whose pack has the new rule.
    pushed = subprocess.run(["git", "log", "--oneline", "-1", "rules/encryption-outside-allies"],
                            check=True, cwd=origin, env=env, capture_output=True, text=True)
    assert "TT-050" in pushed.stdout
    for seconds, command in timings:
        print(f"{seconds:7.2f} s  {command}")
