"""``/healthz`` (database reachable) and ``/metrics`` (the app's own metrics)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ixnode.metrics import DECISIONS, WEBHOOK_LATENCY


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_reports_a_broken_database(client, settings):
    from django.db import connection

    # Point the live connection at a database that cannot be opened: the check must say 503, not crash.
    connection.close()
    original = connection.settings_dict.copy()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/ixnode.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_healthz_get_only(client):
    assert client.post("/healthz").status_code == 405


def test_metrics_exposes_decisions_and_webhook_latency(client):
    DECISIONS.labels("metrics-test", "scale-out", "ALLOW").inc()
    WEBHOOK_LATENCY.labels("metrics-test").observe(0.012)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    decisions = [s for s in families["ixnode_decisions"].samples
                 if s.name == "ixnode_decisions_total" and s.labels["service"] == "metrics-test"]
    assert decisions and decisions[0].labels == {"service": "metrics-test", "action": "scale-out", "decision": "ALLOW"}
    latency = families["ixnode_webhook_duration_seconds"]
    counts = [s for s in latency.samples if s.name.endswith("_count") and s.labels["service"] == "metrics-test"]
    assert counts and counts[0].value >= 1
