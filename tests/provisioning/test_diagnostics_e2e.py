"""Diagnostics against a live Prometheus + Alertmanager the publisher configured, and the app's own webhook."""

from __future__ import annotations

import pytest

from autoscaling.models import AutoscalingConfig
from provisioning.diagnostics import service_diagnostics

pytest_plugins = ["tests.fixtures.plg", "tests.fixtures.plg_stack", "tests.fixtures.http_receiver"]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_published_service_passes_rules_route_and_webhook(plg_stack, live_server, settings, config_values):
    settings.IXNODE_ARTIFACTS_SYNC = True
    settings.IXNODE_PUBLIC_URL = live_server.url
    config = AutoscalingConfig.objects.create(**config_values)
    config.refresh_from_db()
    assert config.artifacts_status == "active", config.artifacts_error
    results = {r.key: r for r in service_diagnostics(config=config)}
    assert results["artifacts"].ok is True
    assert results["rules"].ok is True, results["rules"].detail
    assert results["route"].ok is True, results["route"].detail
    assert results["webhook"].ok is True, results["webhook"].detail
    assert results["prometheus_job"].ok is True
    assert results["jenkins"].ok is None  # not configured: the embedded executor runs the pipelines

    settings.IXNODE_PUBLIC_URL = "http://127.0.0.1:9"
    unreachable = {r.key: r for r in service_diagnostics(config=config)}["webhook"]
    assert unreachable.ok is False and "IXNODE_PUBLIC_URL" in unreachable.fix


def test_disabled_service_has_no_rules_or_route(plg_stack, settings, config_values):
    settings.IXNODE_ARTIFACTS_SYNC = True
    config = AutoscalingConfig.objects.create(**{**config_values, "enabled": False})
    results = {r.key: r for r in service_diagnostics(config=config)}
    assert results["rules"].ok is False and "rule_files" in results["rules"].fix
    assert results["route"].ok is False and "ixnode-auto-vm-test" in results["route"].detail


def test_webhook_refusing_the_token_is_red(http_receiver, settings, config):
    http_receiver.status = 401  # a server at IXNODE_PUBLIC_URL that does not accept our token
    settings.IXNODE_PUBLIC_URL = http_receiver.url
    from provisioning.diagnostics import DiagnosticsContext, check_webhook

    result = check_webhook(config=config, ctx=DiagnosticsContext())
    assert result.ok is False and "refused the token" in result.detail
    sent = http_receiver.requests[0]
    assert sent.path == "/api/webhook/autoscale/auto-vm-test"
    assert sent.headers["Authorization"] == f"Bearer {settings.IXNODE_WEBHOOK_TOKEN}"
    assert sent.json()["status"] == "resolved"
