"""The warm pool outside a run: which VMs it holds, and trimming it when the operator lowered its size.

Runs fill and empty the pool (``pipelines.scale_in`` keeps VMs, ``pipelines.scale_out`` takes them); this
module only destroys the VMs above ``warm_pool_size`` — e.g. after the pool was turned off — and releases
their addresses.
"""

from __future__ import annotations

import logging

from django.db.models import QuerySet
from django.utils import timezone

from autoscaling.choices import ManagedVMState
from autoscaling.models import AutoscalingConfig, ManagedVM
from autoscaling.services.ip_leases import ip_lease_release

logger = logging.getLogger(__name__)


def warm_vms(*, config: AutoscalingConfig) -> QuerySet[ManagedVM]:
    """The config's warm VMs, oldest first (the order scale-outs take them in)."""
    return ManagedVM.objects.filter(config=config, state=ManagedVMState.WARM).order_by("created_at", "name")


def warm_pool_trim(*, config: AutoscalingConfig, vcenter=None) -> list[str]:
    """Destroy the warm VMs above the config's pool size (the newest go; all when the size is 0) and release
    their addresses. Each VM is claimed first (warm → draining), so a scale-out cannot take it meanwhile.
    Returns what was done, one line per VM; a VM that could not be destroyed goes back to the pool."""
    if vcenter is None:
        from ixnode.integrations.vcenter.client import vcenter_client

        vcenter = vcenter_client()
    done: list[str] = []
    surplus = list(warm_vms(config=config)[max(0, config.warm_pool_size):])
    for row in surplus:
        if not ManagedVM.objects.filter(pk=row.pk, state=ManagedVMState.WARM).update(state=ManagedVMState.DRAINING):
            continue  # a scale-out took it
        try:
            existed = vcenter.vm_destroy(row.name)
        except Exception as exc:
            ManagedVM.objects.filter(pk=row.pk).update(state=ManagedVMState.WARM)
            logger.warning("warm pool trim of %s: %s not destroyed: %s", config.service_name, row.name, exc)
            done.append(f"{row.name} not destroyed ({exc}); it stays in the warm pool")
            continue
        ManagedVM.objects.filter(pk=row.pk).update(state=ManagedVMState.DELETED, deleted_at=timezone.now())
        released = ip_lease_release(config=config, ip_address=row.ip_address) if row.ip_address else 0
        line = f"{'destroyed' if existed else 'gone from vCenter:'} warm VM {row.name}" + (
            f", released IP {row.ip_address}" if released else ""
        )
        logger.info("warm pool trim of %s: %s", config.service_name, line)
        done.append(line)
    return done
