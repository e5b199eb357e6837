"""Shared fixtures."""

from __future__ import annotations

import pytest

# Shared fixtures for every app: the operator page tests' users, events and stages; ``fresh_clone`` (session), the
# project as a newcomer clones it, for the tests of the documented commands.
pytest_plugins = ["tests.fixtures.pages", "tests.fixtures.fresh_clone"]


@pytest.fixture
def template(db):
    from templates_app.models import Template

    return Template.objects.create(name="ubuntu-22.04-golden", source_vm_name="golden-src", datastore="ds1")


@pytest.fixture
def config_values(template) -> dict:
    """Valid field values of an AutoscalingConfig on loopback addresses (the original design's example, VIP
    outside the pool)."""
    return {
        "service_name": "auto-vm-test",
        "prometheus_job_name": "auto-vm-test-service",
        "template": template,
        "vm_prefix": "auto-vm-test",
        "min_vms": 2,
        "max_vms": 4,
        "scale_out_step": 1,
        "scale_in_step": 1,
        "scale_out_cpu_threshold": 80,
        "scale_out_memory_threshold": 80,
        "scale_out_duration_minutes": 1,
        "scale_in_cpu_threshold": 30,
        "scale_in_memory_threshold": 30,
        "scale_in_duration_minutes": 5,
        "cooldown_seconds": 300,
        "ip_pool_start": "127.0.48.220",
        "ip_pool_end": "127.0.48.228",
        "gateway": "127.0.48.1",
        "subnet_cidr": "127.0.48.0/24",
        "vlan_id": 1048,
        "f5_pool_name": "auto-vm-test-pool",
        "f5_vip_address": "127.0.48.229",
        "f5_vip_port": 80,
        "f5_health_check_path": "/health",
        "ssh_user": "ubuntu",
        "ssh_key_path": "",
        "enabled": True,
    }


@pytest.fixture
def config(config_values):
    from autoscaling.models import AutoscalingConfig

    obj = AutoscalingConfig(**config_values)
    obj.full_clean()
    obj.save()
    return obj


@pytest.fixture(autouse=True)
def _language_reset():
    """A test that renders a page in Korean must not leave Korean active for the next test in the thread."""
    yield
    from django.utils import translation

    translation.deactivate()
