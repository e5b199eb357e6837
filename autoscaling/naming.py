"""Names a new config derives from its service name when the operator leaves them empty.

The original design's example: service ``auto-vm-test`` → Prometheus job ``auto-vm-test-service``, VM prefix
``auto-vm-test``, F5 pool ``auto-vm-test-pool``. The create page shows these while the service name is typed, the
config service fills them in when they are left out (pages and API alike), and the operator may override each.
"""

from __future__ import annotations

from autoscaling import constants

JOB_SUFFIX = "-service"
POOL_SUFFIX = "-pool"
VM_PREFIX_MAX = 50

#: model field → how it is derived from the service name (shown as the field's hint on the create page)
DERIVED_FIELDS = ("prometheus_job_name", "vm_prefix", "f5_pool_name")


def config_derived_names(service_name: str) -> dict[str, str]:
    """The Prometheus job name, VM prefix and F5 pool name for ``service_name`` ({} when the name is not a valid
    service name: the field error says why, and nothing is guessed from it)."""
    name = (service_name or "").strip()
    if not constants.SERVICE_NAME_RE.match(name):
        return {}
    prefix = name[:VM_PREFIX_MAX].rstrip("-")
    return {
        "prometheus_job_name": f"{name}{JOB_SUFFIX}",
        "vm_prefix": prefix,
        "f5_pool_name": f"{name}{POOL_SUFFIX}",
    }
