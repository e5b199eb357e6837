"""End to end with real Prometheus and Alertmanager whose configs only the product's publisher changes.

Saving an enabled config publishes its job, rules, route and receiver; a test exporter's CPU load above the
threshold makes Prometheus fire, Alertmanager call the app's webhook (live server) and the app record a
scale-out ScaleEvent; low CPU and memory give a scale-in decision; disabling the config removes its rules from
Prometheus' /api/v1/rules and its route from Alertmanager's /api/v2/status.
"""

from __future__ import annotations

import time

import pytest

from autoscaling.choices import ArtifactStatus
from autoscaling.models import AutoscalingConfig

pytest_plugins = ["tests.fixtures.plg", "tests.fixtures.plg_stack"]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def e2e_config(config_values) -> AutoscalingConfig:
    return AutoscalingConfig.objects.create(
        **{
            **config_values,
            "min_vms": 1,
            "max_vms": 4,
            "cooldown_seconds": 0,
            "scale_out_duration_minutes": 0,
            "scale_in_duration_minutes": 0,
            "scale_out_cpu_threshold": 80,
            "scale_out_memory_threshold": 90,
            "scale_in_cpu_threshold": 30,
            "scale_in_memory_threshold": 30,
        }
    )


def test_publish_into_live_prometheus_and_alertmanager(plg_stack, config_values, settings):
    settings.IXNODE_ARTIFACTS_SYNC = True
    config = e2e_config(config_values)
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error
    assert "ixnode-auto-vm-test" in plg_stack.rule_groups()
    assert "receiver: ixnode-auto-vm-test" in plg_stack.alertmanager_config()
    wait_for(lambda: plg_stack.active_targets("prometheus"), 15, "the operator's own job to keep scraping")

    config.enabled = False
    config.save()
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.REMOVED, config.artifacts_error
    assert "ixnode-auto-vm-test" not in plg_stack.rule_groups()
    assert "ixnode-auto-vm-test" not in plg_stack.alertmanager_config()
