"""Batch throughput: `riskrules diff` and `POST /v1/assessments:batch`, with 1 then 2 workers.

Run: python benchmarks/batch.py [--part diff|http|both] [--workers 1,2] [--rounds R]
                                [--diff-proposals N] [--batch-sizes 100,1000] [--per-run P]

diff: `riskrules diff --base rules --head rules CORPUS --workers N --format json --as-of DAY`
  on a JSON Lines corpus of N synthetic proposals (benchmarks/engine.py; every proposal is
  assessed under both packs, so 2N assessments). Each run is a fresh process, timed wall
  clock; a one-proposal run measures start-up (imports, loading both packs, spawning the
  pool), and "steady" is N / (time − start-up). The JSON report must say N assessed, none
  invalid or failed.

http: `riskrules serve --workers N` (gunicorn sync workers, started by
  loadkit/server.py as the load and fault scripts start it) on a free port with a
  temporary SQLite file and keys file, RISKRULES_MAX_BODY_BYTES raised to 8 MiB (the 1 MiB
  default fits ~1,100 average proposals) and RISKRULES_WORKER_TIMEOUT to 120 s (a
  1,000-proposal batch must not be killed on a loaded host). Two client threads post batches
  of B proposals until P proposals are sent; proposals/s = P / wall time. Every result must
  be a stored assessment (200, an id for each proposal), and the database must hold exactly
  as many rows as proposals were sent.

Medians of R rounds; the worker counts are interleaved within a round so that load from other
processes on the host spreads over all of them. Scaling = rate with 2 workers / rate with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.engine import DAY, synthetic_proposals  # noqa: E402
from loadkit.server import Server, cpu_seconds, serving  # noqa: E402

CLI = [sys.executable, "-m", "cli.main"]
MAX_BODY_BYTES = 8 * 1024 * 1024
SERVER_ENV = {"RISKRULES_MAX_BODY_BYTES": str(MAX_BODY_BYTES), "RISKRULES_WORKER_TIMEOUT": "120"}


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _ints(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


# -- riskrules diff -------------------------------------------------------------------------


def _write_corpus(path: Path, proposals: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for proposal in proposals:
            out.write(json.dumps(proposal) + "\n")


def diff_command(corpus: Path, workers: int) -> list[str]:
    return [*CLI, "diff", "--base", "rules", "--head", "rules", str(corpus),
            "--workers", str(workers), "--format", "json", "--as-of", DAY.isoformat()]


def run_diff(corpus: Path, workers: int, expected: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the diff process and its pool) for one run; fails loudly
    unless every proposal was assessed."""
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(diff_command(corpus, workers), cwd=ROOT, env=_env(),
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"riskrules diff --workers {workers} exited {done.returncode}:\n"
                         f"{done.stderr[-3000:]}")
    counts = json.loads(done.stdout)["proposals"]
    if (counts["assessed"], counts["invalid"], counts["failed"]) != (expected, 0, 0):
        raise SystemExit(f"riskrules diff --workers {workers}: expected {expected} assessed, "
                         f"got {counts}")
    return elapsed, cpu


def _children_cpu() -> float:
    """CPU seconds of waited-for descendants (the diff's pool workers are reaped by it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_diff(workers: list[int], proposals: int, rounds: int) -> dict[int, dict[str, float]]:
    small = max(1, proposals // 4)
    with tempfile.TemporaryDirectory(prefix="rr-bench-diff-") as tmp:
        corpus, quarter = Path(tmp) / "corpus.jsonl", Path(tmp) / "quarter.jsonl"
        everything = synthetic_proposals(proposals)
        _write_corpus(corpus, everything)
        _write_corpus(quarter, everything[:small])
        print(f"\n## riskrules diff: {proposals} proposals, each assessed under base and head "
              f"({2 * proposals} assessments); marginal = the extra {proposals - small} "
              f"proposals over a {small}-proposal run (start-up excluded)")
        print("$ " + " ".join(diff_command(Path("CORPUS.jsonl"), 0)).replace(
            sys.executable, "python").replace("--workers 0", "--workers N"))
        runs: dict[int, list[tuple[float, float, float]]] = {w: [] for w in workers}
        for _ in range(rounds):
            for w in workers:
                short, _ = run_diff(quarter, w, small)
                wall, cpu = run_diff(corpus, w, proposals)
                runs[w].append((wall, short, cpu))
        results: dict[int, dict[str, float]] = {}
        for w in workers:
            wall = statistics.median(r[0] for r in runs[w])
            short = statistics.median(r[1] for r in runs[w])
            cpu = statistics.median(r[2] for r in runs[w])
            results[w] = {"wall": wall, "rate": proposals / wall,
                          "marginal": (proposals - small) / max(wall - short, 1e-9),
                          "cpu_ms": 1000 * cpu / proposals, "cores": cpu / wall}
        print(f"{'workers':>7} {'wall s':>7} {'proposals/s':>12} {'marginal/s':>11} "
              f"{'CPU ms/proposal':>16} {'cores busy':>11}")
        for w, r in results.items():
            print(f"{w:>7} {r['wall']:7.2f} {r['rate']:12.0f} {r['marginal']:11.0f} "
                  f"{r['cpu_ms']:16.1f} {r['cores']:11.2f}")
        _print_scaling(results, ("rate", "marginal"))
        return results


def _print_scaling(results: dict[int, dict[str, float]], keys: tuple[str, ...]) -> None:
    if 1 in results and 2 in results:
        parts = [f"{k} ×{results[2][k] / results[1][k]:.2f}" for k in keys]
        print("scaling 1 → 2 workers: " + ", ".join(parts))


# -- POST /v1/assessments:batch -------------------------------------------------------------


def post_batch(srv: Server, body: bytes) -> bytes:
    status, _, raw = srv.call("POST", "/v1/assessments:batch", body, timeout=300)
    if status != 200:
        raise SystemExit(f"batch answered {status}: {raw[:2000]!r}")
    return raw


def worker_cpu(srv: Server) -> float:
    """CPU seconds used so far by the live gunicorn workers."""
    return cpu_seconds(srv.worker_pids())


def load(srv: Server, body: bytes, batches_per_thread: int,
         threads: int = 2) -> tuple[float, float, list[bytes]]:
    """(wall seconds, workers' CPU seconds, answers) for `threads` clients each posting
    `batches_per_thread` batches."""
    answers: list[bytes] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def client() -> None:
        barrier.wait()
        try:
            mine = [post_batch(srv, body) for _ in range(batches_per_thread)]
        except BaseException as exc:  # reported by the main thread
            with lock:
                failures.append(exc)
            return
        with lock:
            answers.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for thread in workers:
        thread.start()
    cpu_before = worker_cpu(srv)
    barrier.wait()
    start = time.perf_counter()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - start
    cpu = worker_cpu(srv) - cpu_before
    if failures:
        raise SystemExit(f"a client failed: {failures[0]}")
    return elapsed, cpu, answers


def verify(answers: list[bytes], size: int) -> None:
    for raw in answers:
        results = json.loads(raw)["results"]
        stored = [r for r in results if isinstance(r.get("id"), str) and "decision" in r]
        if len(results) != size or len(stored) != size:
            problem = next((r for r in results if "decision" not in r), None)
            raise SystemExit(f"a batch of {size} returned {len(stored)} assessments: {problem}")


def bench_http(workers: list[int], sizes: list[int], per_run: int,
               rounds: int) -> dict[int, dict[int, float]]:
    print(f"\n## POST /v1/assessments:batch: 2 client threads, {per_run} proposals per run")
    print("$ python -m cli.main --rules rules serve --bind 127.0.0.1:PORT --workers N "
          "--database-url sqlite:///DB --keys-file KEYS   # loadkit/server.py")
    proposals = synthetic_proposals(max(sizes))
    bodies = {b: json.dumps({"proposals": proposals[:b]}).encode() for b in sizes}
    samples: dict[tuple[int, int], list[tuple[float, float, float]]] = {
        (w, b): [] for w in workers for b in sizes}
    # one server per worker count; rounds interleave the batch sizes
    for w in workers:
        with serving("sqlite", workers=w, env=SERVER_ENV) as srv:
            sent = 0
            for b in sizes:  # warm-up: every worker has scored and stored before timing
                _, _, answers = load(srv, bodies[b], 1)
                verify(answers, b)
                sent += 2 * b
            for _ in range(rounds):
                for b in sizes:
                    per_thread = max(1, -(-per_run // (2 * b)))
                    wall, cpu, answers = load(srv, bodies[b], per_thread)
                    verify(answers, b)
                    count = 2 * per_thread * b
                    sent += count
                    samples[w, b].append((count / wall, 1000 * cpu / count, cpu / wall))
            rows = srv.database.count()
            if rows != sent:
                raise SystemExit(f"{rows} rows stored for {sent} proposals sent")
    results: dict[int, dict[int, float]] = {w: {} for w in workers}
    print(f"{'workers':>7} {'batch':>6} {'proposals/s':>12} {'CPU ms/proposal':>16} "
          f"{'cores busy':>11}")
    for (w, b), values in samples.items():
        results[w][b] = statistics.median(v[0] for v in values)
        cpu_ms = statistics.median(v[1] for v in values)
        cores = statistics.median(v[2] for v in values)
        print(f"{w:>7} {b:>6} {results[w][b]:12.0f} {cpu_ms:16.1f} {cores:11.2f}")
    if 1 in results and 2 in results:
        print("scaling 1 → 2 workers: " + ", ".join(
            f"batch {b} ×{results[2][b] / results[1][b]:.2f}" for b in sizes))
    print("every proposal answered as a stored assessment; database row count checked")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("diff", "http", "both"), default="both")
    parser.add_argument("--workers", type=_ints, default=[1, 2], help="default 1,2")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are shown")
    parser.add_argument("--diff-proposals", type=int, default=2000)
    parser.add_argument("--batch-sizes", type=_ints, default=[100, 1000], help="default 100,1000")
    parser.add_argument("--per-run", type=int, default=2000,
                        help="proposals sent per timed HTTP run (default 2000)")
    args = parser.parse_args()
    print(f"host: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start "
          "(shared with other jobs)")
    if args.part in ("diff", "both"):
        bench_diff(args.workers, args.diff_proposals, args.rounds)
    if args.part in ("http", "both"):
        bench_http(args.workers, args.batch_sizes, args.per_run, args.rounds)
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
