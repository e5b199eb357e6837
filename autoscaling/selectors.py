"""Read-side queries of the autoscaling domain (HackSoft selectors: they read, never write)."""

from __future__ import annotations

import re
from typing import NamedTuple

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from autoscaling.choices import LeaseState, ManagedVMState, ScaleInOrder
from autoscaling.models import AutoscalingConfig, IPLease, ManagedVM
from events.choices import IN_FLIGHT_STATUSES
from events.models import ScaleEvent
from ixnode.database import database_line
from ixnode.queries import CompiledRead


def config_list() -> QuerySet[AutoscalingConfig]:
    return AutoscalingConfig.objects.select_related("template").order_by("service_name")


def config_missing_text(*, names: list[str]) -> str:
    """Why a command found no config of these names, with the database it read and the configs that database holds:
    a command run against another database (another ``IXNODE_ENV_FILE``, ``DATABASE_URL`` or directory) shows at
    once."""
    known = list(AutoscalingConfig.objects.order_by("service_name").values_list("service_name", flat=True)[:21])
    listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "") if known else _("none")
    return _("No autoscaling config named %(names)s in the database %(db)s (its configs: %(known)s).") % {
        "names": ", ".join(sorted(names)), "db": database_line(), "known": listed}


def config_get(*, service_name: str) -> AutoscalingConfig | None:
    return config_list().filter(service_name=service_name).first()


def config_get_for_decision(*, service_name: str) -> AutoscalingConfig | None:
    """The config for a webhook decision, in one round trip: its scaling policy (policies app, reverse
    one-to-one; without a row the cached relation raises ``DoesNotExist`` without a query) and its cooldown row
    (the unlocked pre-check of ``scale_decision_record``: does a scale-out need the IP pool's external reads). Not
    the template: no decision reads it (the run re-reads the config), and each joined model costs its columns'
    compilation and an instance on every delivery."""
    return (AutoscalingConfig.objects.select_related("scaling_policy", "cooldown")
            .filter(service_name=service_name).first())


def scale_event_in_flight(*, config: AutoscalingConfig) -> ScaleEvent | None:
    """The queued or running run of the config, if any (at most one: a unique constraint guards it)."""
    return ScaleEvent.objects.filter(config=config, status__in=IN_FLIGHT_STATUSES).order_by("-id").first()


# The webhook's per-delivery reads (ixnode/queries.py: compiled once, ~10x cheaper than a queryset each time).
# The sentinels are values no real row or constant of the query has.
_IN_FLIGHT_ANY = CompiledRead(
    lambda config_id: ScaleEvent.objects.filter(config_id=config_id, status__in=IN_FLIGHT_STATUSES).order_by()
    .values_list("pk", flat=True)[:1], config_id=-917_305_113)
_DELIVERY_STATE = CompiledRead(
    lambda config_id, alert_key: AutoscalingConfig.objects.filter(pk=config_id).annotate(
        in_flight=Exists(ScaleEvent.objects.filter(config=OuterRef("pk"), status__in=IN_FLIGHT_STATUSES)),
        instance_last_id=Subquery(ScaleEvent.objects.filter(config=OuterRef("pk"), alert_key=alert_key)
                                  .order_by("-id").values("pk")[:1]),
    ).values_list("in_flight", "instance_last_id"), config_id=-917_305_113, alert_key="\x00sentinel-alert-key")


class DeliveryState(NamedTuple):
    in_flight: bool  # a run of the config is queued or running
    instance_last_id: int | None  # the config's last ScaleEvent for the alert instance (None: never seen, or no key)


def scale_event_in_flight_exists(*, config: AutoscalingConfig) -> bool:
    return bool(_IN_FLIGHT_ANY.rows(using=config._state.db or "default", config_id=config.pk))


def delivery_state(*, config: AutoscalingConfig, alert_key: str) -> DeliveryState:
    """What a decision reads of the config's events, in one statement: is a run in flight, and the id of the last
    event of the alert instance ``alert_key`` ("": none is looked up)."""
    rows = _DELIVERY_STATE.rows(using=config._state.db or "default", config_id=config.pk, alert_key=alert_key)
    if not rows:  # the config was deleted meanwhile: nothing of it is in flight
        return DeliveryState(False, None)
    in_flight, last_id = rows[0]
    return DeliveryState(bool(in_flight), last_id if alert_key else None)


def managed_vms_alive(*, config: AutoscalingConfig) -> QuerySet[ManagedVM]:
    """VMs the autoscaler created for the config that are not deleted yet."""
    return ManagedVM.objects.filter(config=config).exclude(state=ManagedVMState.DELETED)


def ip_leases_active(*, config: AutoscalingConfig) -> QuerySet[IPLease]:
    return IPLease.objects.filter(config=config, state=LeaseState.LEASED)


def managed_vms_scale_in_candidates(*, config: AutoscalingConfig) -> list[ManagedVM]:
    """VMs a scale-in may remove, in the config's order (newest first unless oldest-first is set): in service, not
    protected, named like the autoscaler's own VMs (never a base VM) and with an address (a row without one, edited by
    hand, is never picked: its F5 member and Prometheus target could not be found)."""
    pattern = re.compile(config.managed_vm_regex)
    rows = ManagedVM.objects.filter(config=config, state=ManagedVMState.IN_SERVICE, scale_in_protected=False)
    newest_first = config.scale_in_order != ScaleInOrder.OLDEST_FIRST
    rows = rows.order_by("-created_at", "-name") if newest_first else rows.order_by("created_at", "name")
    return [vm for vm in rows if vm.ip_address and pattern.match(vm.name)]
