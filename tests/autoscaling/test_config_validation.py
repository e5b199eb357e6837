"""Validation of AutoscalingConfig (bounds, thresholds, pool, gateway/VIP outside it, names), at the model level
(admin and API reuse it)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from autoscaling.models import AutoscalingConfig

pytestmark = pytest.mark.django_db


def errors_for(values: dict, **changes) -> dict[str, list[str]]:
    obj = AutoscalingConfig(**{**values, **changes})
    try:
        obj.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


def test_valid_config_passes(config_values):
    assert errors_for(config_values) == {}


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"min_vms": 5, "max_vms": 4}, "max_vms", "greater than or equal to minimum"),
        ({"min_vms": 0}, "min_vms", "greater than or equal to 1"),
        ({"scale_out_step": 0}, "scale_out_step", "greater than or equal to 1"),
        ({"scale_in_step": 0}, "scale_in_step", "greater than or equal to 1"),
        ({"scale_out_cpu_threshold": 101}, "scale_out_cpu_threshold", "less than or equal to 100"),
        ({"scale_in_memory_threshold": -1}, "scale_in_memory_threshold", "greater than or equal to 0"),
        ({"scale_in_cpu_threshold": 80}, "scale_in_cpu_threshold", "must be below the scale-out"),
        ({"scale_in_memory_threshold": 90}, "scale_in_memory_threshold", "must be below the scale-out"),
        ({"f5_vip_address": "127.0.48.225"}, "f5_vip_address", "inside the IP pool"),
        ({"gateway": "127.0.48.220"}, "gateway", "inside the IP pool"),
        ({"ip_pool_start": "127.0.49.220"}, "ip_pool_start", "outside the subnet"),
        ({"ip_pool_end": "127.0.48.210"}, "ip_pool_end", "must not be before pool start"),
        ({"gateway": "127.0.47.1"}, "gateway", "outside the subnet"),
        ({"subnet_cidr": "127.0.48.1/24"}, "subnet_cidr", "CIDR"),
        ({"ip_pool_end": "127.0.48.220", "max_vms": 4}, "ip_pool_end", "holds 1 addresses"),
        ({"min_vms": 2, "max_vms": 4, "warm_pool_size": 3}, "warm_pool_size", "larger than the 2 VMs"),
        ({"warm_pool_size": -1}, "warm_pool_size", "greater than or equal to 0"),
        ({"service_name": "Bad_Name"}, "service_name", "lower-case"),
        ({"vm_prefix": "bad prefix"}, "vm_prefix", "letters, digits and hyphens"),
        ({"f5_health_check_path": "health"}, "f5_health_check_path", "starting with '/'"),
    ],
)
def test_invalid_configs_rejected_with_field_message(config_values, changes, field, fragment):
    errors = errors_for(config_values, **changes)
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors[field]


def test_warm_pool_needs_no_addresses_beyond_max_minus_min(config_values):
    """Added VMs plus warm VMs never exceed max − min (a scale-out empties the pool before it clones)."""
    assert errors_for(config_values, ip_pool_end="127.0.48.221", min_vms=2, max_vms=4, warm_pool_size=2) == {}


def test_seed_example_vip_inside_pool_is_rejected(config_values):
    """The seed's own example (VIP .229 inside pool .220–.230) must be rejected."""
    errors = errors_for(config_values, ip_pool_end="127.0.48.230", f5_vip_address="127.0.48.229")
    assert "f5_vip_address" in errors
