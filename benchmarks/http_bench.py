"""HTTP cost of an assessment: POST /v1/assessments vs a bare Flask echo, same gunicorn settings.

Run: python benchmarks/http_bench.py [--requests N] [--concurrency C] [--workers W] [--rounds R]
                               [--database sqlite|postgresql] [--no-wrk] [--wrk-seconds S]

Both servers run side by side with the settings of api/gunicornconf.py (its threaded worker
class, W workers, 127.0.0.1):

  bare  a tiny Flask app (bare_app below) whose one endpoint parses the JSON body and answers
        it back with 201: the floor of Flask + gunicorn + the client;
  full  `riskrules serve`: authentication, strict JSON, contract validation, scoring,
        explanation, the durable write (SQLite synchronous=FULL or PostgreSQL), the request log.

The same proposals (examples/*.json, unique references) go to both with the same Python client
(C threads, http.client). Rounds alternate bare/full; the medians of R rounds are printed:
requests/s of each and their ratio (target ≥ 0.5), p99 of each and their ratio (target ≤ 3),
and the CPU the workers spent per request (from /proc), whose ratio does not depend on what
else the machine is running.
When `wrk` is installed (Debian: apt-get install wrk) the same comparison is repeated with it
(one fixed body, S seconds per target): a C client loads the server without competing for
the GIL. --breakdown adds the in-process cost of each step of one assessment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask, Response, request

from api.settings import setting
from loadkit.client import Call, LoadRun, Summary, summarise
from loadkit.server import (
    DEFAULT_POSTGRES,
    ROOT,
    children,
    cpu_seconds,
    free_port,
    serving,
)
from loadkit.workload import plain_calls, run_id

THROUGHPUT_TARGET = 0.5
P99_TARGET = 3.0


def bare_app() -> Flask:
    """The baseline: parse the same JSON, answer it. Nothing else."""
    app = Flask("bare")

    @app.post("/echo")
    def echo() -> Response:
        body = json.loads(request.get_data())
        return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                        status=201, mimetype="application/json")

    return app


def serve_bare(bind: str, workers: int) -> None:
    """Run bare_app under gunicorn with riskrules' gunicorn settings (in this process)."""
    from gunicorn.app.base import BaseApplication

    from api.gunicornconf import settings

    class Bare(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            merged = {**settings(), "bind": [bind], "workers": workers}
            for name, value in merged.items():
                if name in self.cfg.settings and value is not None:
                    self.cfg.set(name, value)

        def load(self) -> Flask:
            return bare_app()

    Bare().run()


class BareServer:
    """`python benchmarks/http_bench.py --serve-bare` in a subprocess."""

    def __init__(self, workers: int, directory: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = directory / "bare.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--serve-bare",
                 "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)],
                cwd=directory, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        probe = [Call("POST", "/echo", b"{}")]
        while LoadRun(self.base, probe, 1, max_attempts=1, timeout=2).run().outcomes[0].status \
                != 201:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"bare server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _load(base: str, calls: list[Call], concurrency: int, headers: dict[str, str],
          master: int) -> tuple[Summary, float]:
    """One run; its summary and the workers' CPU milliseconds per request."""
    workers = children(master)
    before = cpu_seconds(workers)
    run = LoadRun(base, calls, concurrency, default_headers=headers).run()
    cpu_ms = (cpu_seconds(workers) - before) * 1000 / max(1, len(calls))
    summary = summarise(run)
    ok = summary.statuses.get(201, 0)
    if ok != len(calls):
        raise RuntimeError(f"{base}: {summary.line()}")
    return summary, cpu_ms


def _fmt(label: str, runs: list[tuple[Summary, float]]) -> str:
    rps = statistics.median(s.throughput for s, _ in runs)
    p50 = statistics.median(s.p50_ms for s, _ in runs)
    p99 = statistics.median(s.p99_ms for s, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    each = ", ".join(f"{s.throughput:.0f}" for s, _ in runs)
    return (f"  {label:<22} {rps:8.1f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  "
            f"worker CPU {cpu:5.2f} ms/req  (rounds: {each} req/s)")


def _verdict(bare_rps: float, full_rps: float, bare_p99: float, full_p99: float) -> str:
    ratio = full_rps / bare_rps if bare_rps else 0.0
    p99_ratio = full_p99 / bare_p99 if bare_p99 else float("inf")
    return (f"  throughput ratio full/bare: {ratio:.2f} (target ≥ {THROUGHPUT_TARGET}: "
            f"{'met' if ratio >= THROUGHPUT_TARGET else 'NOT met'})\n"
            f"  p99 ratio full/bare:        {p99_ratio:.2f} (target ≤ {P99_TARGET:g}: "
            f"{'met' if p99_ratio <= P99_TARGET else 'NOT met'})")


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk(url: str, body: bytes, headers: dict[str, str], concurrency: int,
         seconds: int, directory: Path) -> tuple[float, float, float, dict[str, int]]:
    """requests/s, p50 ms, p99 ms and non-2xx count from one wrk run."""
    script = directory / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body.decode()}]==]"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in
              {**headers, "Content-Type": "application/json"}.items()]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["wrk", "-t", "1", "-c", str(concurrency), "-d", f"{seconds}s",
                          "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(name: str) -> float:
        found = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
        return float(found.group(1)) * _WRK_UNITS[found.group(2)] if found else float("nan")

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return rps, pct("50"), pct("99"), {"non-2xx": int(bad.group(1)) if bad else 0,
                                       "socket errors": 1 if errors else 0}


def breakdown(samples: int = 200) -> list[tuple[str, float]]:
    """Median in-process cost (ms) of each step of one assessment, no HTTP, SQLite FULL sync."""
    from api.body import strict_loads
    from api.migrate import upgrade
    from api.service import dumps, new_assessment_id
    from api.store import NewAssessment, Store
    from engine import load_pack
    from engine.timefmt import utc_now_seconds

    pack = load_pack(ROOT / "rules")
    bodies = [c.body or b"" for c in plain_calls(samples, f"BRK-{run_id()}")]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/b.sqlite3"
        upgrade(url)
        store = Store(url)
        timings: dict[str, list[float]] = {}

        @contextlib.contextmanager
        def timed(name: str) -> Iterator[None]:
            began = time.perf_counter()
            yield
            timings.setdefault(name, []).append((time.perf_counter() - began) * 1000)

        for raw in bodies:
            with timed("strict JSON parse"):
                doc = strict_loads(raw)
            with timed("contract validation (engine)"):
                pack.validate(doc)
            with timed("scoring + explanation (Pack.assess)"):
                result = pack.assess(doc, validate=False)
            with timed("to_dict + JSON"):
                text = dumps(result.to_dict())
            record = NewAssessment(
                id=new_assessment_id(), created_at=utc_now_seconds(), reference=doc.get("reference"),
                decision="x", band="x", score=0.0, pack_name=pack.name,
                pack_version=pack.version, pack_digest=pack.digest, api_key_id="k",
                idempotency_key=None, body_hash=None, proposal_json=raw.decode(),
                assessment_json=text)
            with timed("durable write (SQLite, synchronous=FULL)"):
                store.insert([record])
        store.close()
    pack.close()
    return [(name, statistics.median(values)) for name, values in timings.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="per round and target")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-wrk", action="store_true", help="skip wrk even when installed")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bind", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.bind, args.workers)
        return 0

    print(f"{args.workers} workers ({setting('WORKER_CLASS')}, threaded) per server, "
          f"{args.concurrency} client threads, "
          f"{args.requests} requests per round and target, {args.rounds} rounds, "
          f"{args.database}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="rr-http-") as tmp, \
            serving(args.database, workers=args.workers, directory=Path(tmp),
                    postgres_url=args.postgres_url) as full:
        bare = BareServer(args.workers, Path(tmp))
        try:
            auth = full.keys.bearer("submitter")
            warm = plain_calls(60, f"WARM-{run_id()}")
            masters = {"bare": bare.process.pid, "full": full.master_pid}
            _load(bare.base, [Call("POST", "/echo", c.body) for c in warm], 4, auth,
                  masters["bare"])
            _load(full.base, warm, 4, auth, masters["full"])
            bare_runs: list[tuple[Summary, float]] = []
            full_runs: list[tuple[Summary, float]] = []
            for round_no in range(args.rounds):
                calls = plain_calls(args.requests, f"HTTP-{run_id()}")
                echo = [Call("POST", "/echo", c.body) for c in calls]
                order = [("bare", echo), ("full", calls)]
                for name, batch in order if round_no % 2 == 0 else order[::-1]:
                    base = bare.base if name == "bare" else full.base
                    result = _load(base, batch, args.concurrency, auth, masters[name])
                    (bare_runs if name == "bare" else full_runs).append(result)
            print("Python client (http.client threads), medians:")
            print(_fmt("bare Flask echo", bare_runs))
            print(_fmt("POST /v1/assessments", full_runs))
            print(_verdict(statistics.median(s.throughput for s, _ in bare_runs),
                           statistics.median(s.throughput for s, _ in full_runs),
                           statistics.median(s.p99_ms for s, _ in bare_runs),
                           statistics.median(s.p99_ms for s, _ in full_runs)))
            cpu_ratio = (statistics.median(c for _, c in bare_runs)
                         / max(1e-9, statistics.median(c for _, c in full_runs)))
            print(f"  worker CPU ratio bare/full: {cpu_ratio:.2f} (the throughput ratio the "
                  "two would reach on otherwise idle cores)", flush=True)
            if not args.no_wrk and shutil.which("wrk"):
                one = plain_calls(1, f"WRK-{run_id()}")[0].body or b"{}"
                b = _wrk(bare.base + "/echo", one, auth, args.concurrency, args.wrk_seconds,
                         Path(tmp))
                f = _wrk(full.base + "/v1/assessments", one, auth, args.concurrency,
                         args.wrk_seconds, Path(tmp))
                print(f"wrk (-t1 -c{args.concurrency}, {args.wrk_seconds} s each, one body):")
                print(f"  {'bare Flask echo':<22} {b[0]:8.1f} req/s  p50 {b[1]:7.2f} ms  "
                      f"p99 {b[2]:7.2f} ms  {b[3]}")
                print(f"  {'POST /v1/assessments':<22} {f[0]:8.1f} req/s  p50 {f[1]:7.2f} ms  "
                      f"p99 {f[2]:7.2f} ms  {f[3]}")
                print(_verdict(b[0], f[0], b[2], f[2]))
            elif not args.no_wrk:
                print("wrk not installed: Python client figures only")
        finally:
            bare.stop()
    if args.breakdown:
        print("in-process cost per assessment (median ms):")
        for name, ms in breakdown():
            print(f"  {name:<42} {ms:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
