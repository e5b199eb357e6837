"""Read-side queries of the autoscaling domain (HackSoft selectors: they read, never write)."""

from __future__ import annotations

import ipaddress

from django.db.models import Exists, OuterRef, QuerySet

from autoscaling.choices import LeaseState, ManagedVMState
from autoscaling.models import AutoscalingConfig, IPLease, ManagedVM
from events.choices import IN_FLIGHT_STATUSES
from events.models import ScaleEvent


def config_list() -> QuerySet[AutoscalingConfig]:
    return AutoscalingConfig.objects.select_related("template").order_by("service_name")


def config_get(*, service_name: str) -> AutoscalingConfig | None:
    return config_list().filter(service_name=service_name).first()


def config_get_for_decision(*, service_name: str) -> AutoscalingConfig | None:
    """The config for a webhook decision, in one round trip: its scaling policy (policies app, reverse
    one-to-one; without a row the cached relation raises ``DoesNotExist`` without a query), its cooldown row
    (the unlocked pre-check of ``scale_decision_record``: does a scale-out need the IP pool's external reads) and
    ``in_flight_hint``, the unlocked "is a run queued or running" pre-check of ``scale_decision_record``
    (consumed by its first decision; the decision itself re-checks under the row lock)."""
    in_flight = ScaleEvent.objects.filter(config=OuterRef("pk"), status__in=IN_FLIGHT_STATUSES)
    return (AutoscalingConfig.objects.select_related("template", "scaling_policy", "cooldown")
            .annotate(in_flight_hint=Exists(in_flight)).filter(service_name=service_name).first())


def scale_event_in_flight(*, config: AutoscalingConfig) -> ScaleEvent | None:
    """The queued or running run of the config, if any (at most one: a unique constraint guards it)."""
    return ScaleEvent.objects.filter(config=config, status__in=IN_FLIGHT_STATUSES).order_by("-id").first()


def scale_event_in_flight_exists(*, config: AutoscalingConfig) -> bool:
    return ScaleEvent.objects.filter(config=config, status__in=IN_FLIGHT_STATUSES).exists()


def managed_vms_alive(*, config: AutoscalingConfig) -> QuerySet[ManagedVM]:
    """VMs the autoscaler created for the config that are not deleted yet."""
    return ManagedVM.objects.filter(config=config).exclude(state=ManagedVMState.DELETED)


def ip_leases_active(*, config: AutoscalingConfig) -> QuerySet[IPLease]:
    return IPLease.objects.filter(config=config, state=LeaseState.LEASED)


def ip_pool_addresses_reserved(*, config: AutoscalingConfig) -> set[str]:
    """Addresses of the pool that can never be handed out: the gateway and the F5 VIP (validation keeps them
    outside the pool; they are excluded here too so an old or imported config never hands them out)."""
    return {str(config.gateway), str(config.f5_vip_address)}


def ip_pool_free_count(*, config: AutoscalingConfig) -> int:
    """Addresses of the config's pool not leased and not reserved (gateway, VIP).

    Computed arithmetically (the pool may be large); only the leased/reserved addresses that really lie in
    the pool are subtracted.
    """
    try:
        start = ipaddress.ip_address(config.ip_pool_start)
        end = ipaddress.ip_address(config.ip_pool_end)
    except ValueError:
        return 0
    if start.version != end.version or int(start) > int(end):
        return 0
    size = int(end) - int(start) + 1

    def in_pool(value: str) -> bool:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == start.version and int(start) <= int(address) <= int(end)

    taken = {ip for ip in ip_leases_active(config=config).values_list("ip_address", flat=True) if in_pool(ip)}
    taken |= {ip for ip in ip_pool_addresses_reserved(config=config) if in_pool(ip)}
    return max(size - len(taken), 0)
