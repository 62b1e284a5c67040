"""engine.holder: atomic swaps under concurrent evaluations, refused reloads, deferred close."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from engine import Pack, PackError, load_pack
from engine.errors import EngineError
from engine.holder import PackHolder
from tests.engine.conftest import BASE_PROPOSAL, MINIPACK, merged

# S-001 (60 points under pack A, 20 under pack B) fires: the two packs score it differently.
PROPOSAL = merged(BASE_PROPOSAL, {
    "counterparties": [{"name": "Acme OOO", "country": "RU", "type": "private_company"}]})


@pytest.fixture
def pack_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """Two valid packs that differ in one rule's points (so in digest and in score)."""
    a = tmp_path / "a"
    b = tmp_path / "b"
    shutil.copytree(MINIPACK, a)
    shutil.copytree(MINIPACK, b)
    rules = b / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "points: 60" in text
    rules.write_text(text.replace("points: 60", "points: 20", 1), encoding="utf-8")
    return a, b


class Recorder:
    """A loader that remembers every pack it built, to check later which ones were closed."""

    def __init__(self) -> None:
        self.packs: list[Pack] = []
        self.lock = threading.Lock()

    def __call__(self, path: str | Path) -> Pack:
        pack = load_pack(path)
        with self.lock:
            self.packs.append(pack)
        return pack


def is_closed(pack: Pack) -> bool:
    """Closed means the durable_rules ruleset is gone and the pack refuses to evaluate."""
    if not pack.closed:
        return False
    with pytest.raises(EngineError, match="closed"):
        pack.assess(PROPOSAL)
    return True


def test_concurrent_evaluations_during_repeated_swaps(pack_dirs: tuple[Path, Path]) -> None:
    a_dir, b_dir = pack_dirs
    expected: dict[str, float] = {}
    for directory in pack_dirs:
        probe = load_pack(directory)
        expected[probe.digest] = probe.assess(PROPOSAL).score
        probe.close()
    assert len(set(expected.values())) == 2, "the two packs must score the proposal apart"

    recorder = Recorder()
    holder = PackHolder(recorder(a_dir), recorder)
    stop = threading.Event()
    failures: list[BaseException] = []
    seen: list[tuple[str, str, float]] = []  # (leased pack digest, assessment digest, score)
    seen_lock = threading.Lock()

    def evaluate() -> None:
        try:
            while not stop.is_set():
                with holder.current() as lease:
                    assessment = lease.pack.assess(PROPOSAL)
                    with seen_lock:
                        seen.append((lease.pack.digest, assessment.ruleset["digest"],
                                     assessment.score))
        except BaseException as exc:  # collected: the test fails on any of them
            failures.append(exc)

    workers = [threading.Thread(target=evaluate) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        for i in range(24):
            new = holder.reload(b_dir if i % 2 == 0 else a_dir)
            assert holder.peek().pack is new
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
    assert not failures, failures
    assert seen, "no evaluation ran"
    for leased, scored, score in seen:
        assert scored in expected
        assert scored == leased
        assert score == expected[scored]
    assert {scored for _, scored, _ in seen} == set(expected), "evaluations saw only one pack"

    current = holder.peek().pack
    assert len(recorder.packs) == 25
    assert all(is_closed(p) for p in recorder.packs if p is not current)
    assert not is_closed(current)
    holder.close()
    assert is_closed(current)


def test_an_evaluation_finishes_on_the_pack_it_started_with(pack_dirs: tuple[Path, Path]) -> None:
    a_dir, b_dir = pack_dirs
    holder = PackHolder(load_pack(a_dir))
    with holder.current() as lease:
        old = lease.pack
        new = holder.reload(b_dir)
        assert new is not old and holder.peek().pack is new
        assert not is_closed(old)  # still leased: usable
        assert old.assess(PROPOSAL).ruleset["digest"] == old.digest
        with holder.current() as inner:
            assert inner.pack is new and inner.generation == lease.generation + 1
        assert not is_closed(old)
    assert is_closed(old)  # the last lease ended
    assert not is_closed(new)
    holder.close()


def test_a_failing_reload_leaves_the_old_pack_serving(pack_dirs: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    a_dir, _ = pack_dirs
    broken = tmp_path / "broken"
    shutil.copytree(MINIPACK, broken)
    (broken / "rules.yaml").write_text(
        "rules:\n  - id: BAD\n    title: x\n    factor: nowhere\n    kind: risk\n"
        "    points: 1\n    when: {path: colour, eq: red}\n", encoding="utf-8")
    holder = PackHolder(load_pack(a_dir))
    before = holder.peek()
    with pytest.raises(PackError) as raised:
        holder.reload(broken)
    assert {d.code for d in raised.value.diagnostics} >= {"E011", "E013"}
    with pytest.raises(PackError):
        holder.reload(tmp_path / "nowhere")
    after = holder.peek()
    assert after.pack is before.pack and after.generation == before.generation
    with holder.current() as lease:
        assert lease.pack.assess(PROPOSAL).ruleset["digest"] == before.pack.digest
    assert not is_closed(before.pack)
    holder.close()


def test_a_closed_holder_refuses_and_closes_once(pack_dirs: tuple[Path, Path]) -> None:
    a_dir, b_dir = pack_dirs
    pack = load_pack(a_dir)
    holder = PackHolder(pack)
    assert holder.swap(pack).pack is pack  # swapping in the current pack must not close it
    assert not is_closed(pack)
    with holder.current():
        holder.close()
        assert holder.closed and not is_closed(pack)
    assert is_closed(pack)
    holder.close()  # idempotent
    with pytest.raises(EngineError), holder.current():
        pass
    with pytest.raises(EngineError):
        holder.reload(b_dir)
    with pytest.raises(EngineError):
        holder.peek()


class Fragile:
    """A stand-in pack whose close fails: the failure must not reach the evaluation."""

    def __init__(self) -> None:
        self.close_calls = 0

    def close(self) -> None:
        self.close_calls += 1
        raise RuntimeError("close failed")


def test_a_failing_close_does_not_fail_the_release(caplog: pytest.LogCaptureFixture) -> None:
    first, second = Fragile(), Fragile()

    def loader(_path: Any) -> Fragile:
        return second

    holder = PackHolder(first, loader)
    with holder.current() as lease:
        assert holder.reload("unused") is second
        assert lease.pack is first and first.close_calls == 0
    assert first.close_calls == 1
    assert "closing a replaced rule pack failed" in caplog.text
    holder.close()
    assert second.close_calls == 1
