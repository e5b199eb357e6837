"""The app's own Prometheus metrics (served at /metrics)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess

REGISTRY = CollectorRegistry(auto_describe=True)

DECISIONS = Counter(
    "ixnode_decisions",
    "Scaling decisions taken, by service, action and decision.",
    ["service", "action", "decision"],
    registry=REGISTRY,
)
WEBHOOK_LATENCY = Histogram(
    "ixnode_webhook_duration_seconds",
    "Time to answer one Alertmanager webhook call.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def scrape_registry() -> CollectorRegistry:
    """Registry to expose: merged across gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return REGISTRY
