"""The warm pool outside a run: which VMs it holds, whether they still match the config, and trimming it.

Runs fill and empty the pool (``pipelines.scale_in`` keeps VMs, ``pipelines.scale_out`` takes them); this
module destroys the VMs above ``warm_pool_size`` — e.g. after the pool was turned off — and the stale ones
(prepared with another template or other network settings), and releases their addresses.
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from autoscaling.choices import LeaseState, ManagedVMState
from autoscaling.models import AutoscalingConfig, IPLease, ManagedVM
from autoscaling.services.ip_leases import ip_lease_release
from events.choices import IN_FLIGHT_STATUSES
from events.models import ScaleEvent
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenter

logger = logging.getLogger(__name__)


def warm_fingerprint(*, config: AutoscalingConfig) -> str:
    """What a warm VM was prepared with: the template and every network setting a scale-out would apply.
    A warm VM whose fingerprint differs from the config's current one is stale: never handed out, trimmed."""
    parts = {
        "template": [config.template_id, config.template.name if config.template_id else ""],
        "network": [config.network_mode, config.ip_pool_start, config.ip_pool_end, config.gateway, config.subnet_cidr,
                    config.vlan_id, config.dns_servers, config.ssh_user],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def warm_vms(*, config: AutoscalingConfig) -> QuerySet[ManagedVM]:
    """The config's warm VMs, oldest first (the order scale-outs take them in)."""
    return ManagedVM.objects.filter(config=config, state=ManagedVMState.WARM).order_by("created_at", "name")


def warm_pool_room(config: AutoscalingConfig) -> int:
    """How many more VMs the config's warm pool can take (every warm VM counts, stale ones too)."""
    if config.warm_pool_size <= 0:
        return 0
    return max(0, config.warm_pool_size - warm_vms(config=config).count())


def warm_vms_usable(*, config: AutoscalingConfig) -> QuerySet[ManagedVM]:
    """Warm VMs a scale-out may take: prepared with the config's current template and network settings."""
    return warm_vms(config=config).filter(warm_fingerprint=warm_fingerprint(config=config))


def warm_vms_ready(*, config: AutoscalingConfig) -> QuerySet[ManagedVM]:
    """The warm VMs a scale-out takes, in its order: usable and still holding their address (so they need no
    free one). The decision counts them, the pipeline claims them, the dry-run plan names them."""
    leased = IPLease.objects.filter(config=config, state=LeaseState.LEASED).values("ip_address")
    return warm_vms_usable(config=config).filter(ip_address__in=leased)


def warm_vms_ready_count(*, config: AutoscalingConfig) -> int:
    return warm_vms_ready(config=config).count()


class WarmPoolBusy(Exception):
    """A run of the service is in flight; the pool is trimmed only between runs."""


class TrimLine(str):
    """What a trim did to one VM, in the active language; ``failed`` when the VM could not be destroyed."""

    failed: bool = False

    @classmethod
    def of(cls, text: str, *, failed: bool = False) -> TrimLine:
        line = cls(text)
        line.failed = failed
        return line


def warm_pool_trim(*, config: AutoscalingConfig, vcenter: VCenter | None = None) -> list[TrimLine]:
    """Destroy the stale warm VMs and those above the config's pool size (the newest go; all when the size is
    0) and release their addresses. Refused (``WarmPoolBusy``) while a run of the service is in flight. Each
    VM is claimed first (warm → draining), so a scale-out cannot take it meanwhile. Returns what was done, one
    line per VM in the active language (``TrimLine.failed``: a VM that could not be destroyed goes back to the
    pool)."""

    run = ScaleEvent.objects.filter(config=config, status__in=IN_FLIGHT_STATUSES).first()
    if run is not None:
        raise WarmPoolBusy(_("run #%(run)s (%(action)s) is %(status)s; trim the warm pool when it has ended")
                           % {"run": run.pk, "action": run.action, "status": run.status})
    current = warm_fingerprint(config=config)
    rows = list(warm_vms(config=config))
    stale = [row for row in rows if row.warm_fingerprint != current]
    fresh = [row for row in rows if row.warm_fingerprint == current]
    surplus = stale + fresh[max(0, config.warm_pool_size):]
    if not surplus:
        return []
    vcenter = vcenter or vcenter_client()
    done: list[TrimLine] = []
    for row in surplus:
        if not ManagedVM.objects.filter(pk=row.pk, state=ManagedVMState.WARM).update(state=ManagedVMState.DRAINING):
            continue  # a scale-out took it
        try:
            existed = vcenter.vm_destroy(row.name)
        except Exception as exc:
            ManagedVM.objects.filter(pk=row.pk).update(state=ManagedVMState.WARM)
            logger.warning("warm pool trim of %s: %s not destroyed: %s", config.service_name, row.name, exc)
            done.append(TrimLine.of(_("%(vm)s not destroyed (%(error)s); it stays in the warm pool")
                                    % {"vm": row.name, "error": exc}, failed=True))
            continue
        ManagedVM.objects.filter(pk=row.pk).update(state=ManagedVMState.DELETED, deleted_at=timezone.now())
        released = ip_lease_release(config=config, ip_address=row.ip_address) if row.ip_address else 0
        logger.info("warm pool trim of %s: %s warm VM %s%s%s", config.service_name,
                    "destroyed" if existed else "gone from vCenter:", row.name, " (stale)" if row in stale else "",
                    f", released IP {row.ip_address}" if released else "")
        line = (_("destroyed warm VM %(vm)s") if existed else _("gone from vCenter: warm VM %(vm)s")) % {"vm": row.name}
        if row in stale:
            line += _(" (stale: prepared with another template or network settings)")
        if released:
            line += _(", released IP %(ip)s") % {"ip": row.ip_address}
        done.append(TrimLine.of(line))
    return done
