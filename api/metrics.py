"""Prometheus metrics of one app: requests, latencies, assessments, rule fires, reloads, pack info.

Each app gets its own CollectorRegistry (several apps in one test process must not clash).
Under gunicorn with several workers, `PROMETHEUS_MULTIPROC_DIR` must be set before the workers
start (`riskrules serve` does it); /metrics then aggregates every worker's values with
prometheus_client's MultiProcessCollector, and gunicorn's `child_exit` hook marks dead workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from engine.assessment import Assessment

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Any other method (a client may invent one per request) is counted as "other": label values
# must come from a bounded set, or /metrics grows with every new one until restart.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


class SighupCollector:
    """`riskrules_sighup_*` from the master's reload.json (api.guard): applied and refused
    SIGHUPs, and whether the last one was refused (by what)."""

    def __init__(self, state: Path | None) -> None:
        self.state = state

    def collect(self) -> Iterator[Any]:
        from api.guard import read_status

        status = read_status(self.state)
        if not status:
            return
        total = CounterMetricFamily("riskrules_sighup_reloads",
                                    "SIGHUPs the master handled, by result", labels=["result"])
        total.add_metric(["applied"], float(status.get("applied_total", 0)))
        total.add_metric(["refused"], float(status.get("refused_total", 0)))
        yield total
        refused = GaugeMetricFamily(
            "riskrules_sighup_refused",
            "1 when the last SIGHUP was refused (the last good pack and keys serve)",
            labels=["what"])
        last = status.get("last") or {}
        what = {item.get("what") for item in last.get("refused") or []}
        for name in ("pack", "keys"):
            refused.add_metric([name], 1.0 if name in what else 0.0)
        yield refused


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class Metrics:
    """The metric objects; `render()` gives the exposition text and its content type."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("riskrules_http_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("riskrules_http_request_duration_seconds",
                                 "HTTP request duration", ["method", "route", "status"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.assessments = Counter("riskrules_assessments_total", "Assessments stored",
                                   ["decision", "band"], registry=r)
        self.rule_fires = Counter("riskrules_rule_fires_total",
                                  "Rules fired in stored assessments", ["rule"], registry=r)
        self.reloads = Counter("riskrules_ruleset_reloads_total", "Rule pack reloads",
                               ["result"], registry=r)
        # Info metrics are not supported in multiprocess mode: a gauge of 1 carries the labels.
        self.ruleset_info = Gauge("riskrules_ruleset_info", "Loaded rule pack (value 1)",
                                  ["name", "version", "digest"], registry=r,
                                  multiprocess_mode="liveall")
        self._info_labels: tuple[str, str, str] | None = None

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method_label(method), route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def observe_assessment(self, assessment: Assessment) -> None:
        self.assessments.labels(assessment.decision, assessment.band).inc()
        for rule_id in dict.fromkeys(assessment.fired):
            self.rule_fires.labels(rule_id).inc()

    def set_ruleset(self, name: str, version: str, digest: str) -> None:
        if self._info_labels is not None:
            self.ruleset_info.labels(*self._info_labels).set(0)
        self._info_labels = (name, version, digest)
        self.ruleset_info.labels(*self._info_labels).set(1)

    def render(self, state: Path | None = None) -> tuple[bytes, str]:
        """The exposition text: this app's (or every worker's) metrics and the SIGHUP record."""
        path = multiprocess_dir()
        if path:
            registry = CollectorRegistry()
            collector: Any = prom_multiprocess.MultiProcessCollector  # untyped upstream
            collector(registry, path=path)
            text = generate_latest(registry)
        else:
            text = generate_latest(self.registry)
        extra = CollectorRegistry()
        extra.register(SighupCollector(state))
        return text + generate_latest(extra), CONTENT_TYPE_LATEST
