"""IP leases: hand out addresses of a config's pool to new VMs, never the same one twice, and take them back.

An address is free when it lies in the pool and is none of: the gateway, the F5 VIP, an actively leased
address (of any config — the partial unique constraint ``ip_lease_one_active_per_address`` is global), an
address the caller says is in use (the service's Prometheus targets), or a guest IP vCenter reports.

Allocation is atomic under concurrency: the insert of the lease races on the partial unique constraint;
the loser retries with the next free address. It is idempotent per (config, VM name): asking again for the
same VM returns its active lease.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from autoscaling import hooks
from autoscaling.choices import LeaseState
from autoscaling.models import AutoscalingConfig, IPLease
from events.models import ScaleEvent
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenter
from ixnode.netaddr import address_of

logger = logging.getLogger(__name__)

MAX_RACE_RETRIES = 64


class IPPoolExhausted(Exception):
    """No address of the config's pool is free; the message says why and what to do."""

    def __init__(self, message: str, *, config: AutoscalingConfig) -> None:
        super().__init__(message)
        self.message = message
        self.config = config


def _pool(config: AutoscalingConfig) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    start = ipaddress.ip_address(config.ip_pool_start)
    end = ipaddress.ip_address(config.ip_pool_end)
    return start, end


def _addresses(config: AutoscalingConfig) -> Iterator[str]:
    start, end = _pool(config)
    kind = type(start)
    for value in range(int(start), int(end) + 1):
        yield str(kind(value))


def _vcenter_guest_ips(vcenter: VCenter) -> dict[str, str]:
    """Guest IPs vCenter reports, with the reason they are unavailable."""
    reasons: dict[str, str] = {}
    for vm in vcenter.vms_list():
        for ip in vm.guest_ips:
            reasons.setdefault(address_of(ip), f"guest IP of vCenter VM {vm.name}")
    return reasons


def ip_addresses_unavailable(
    *,
    config: AutoscalingConfig,
    exclude: Iterable[str] = (),
    vcenter: VCenter | None = None,
    guest_ips: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every address that must not be handed out, with the reason (for messages and diagnostics).

    ``guest_ips``: vCenter's guest IPs already read (``PoolInUse.guest_ips``), instead of asking ``vcenter``.
    """
    reasons: dict[str, str] = dict(guest_ips or {})
    if vcenter is not None:
        reasons.update({ip: why for ip, why in _vcenter_guest_ips(vcenter).items() if ip not in reasons})
    for value in exclude:
        reasons[address_of(value)] = "in use (Prometheus target)"
    for ip, vm_name in IPLease.objects.filter(state=LeaseState.LEASED).values_list("ip_address", "vm_name"):
        reasons[address_of(ip)] = f"leased to {vm_name or 'a VM'}"
    reasons[address_of(config.gateway)] = "gateway"
    reasons[address_of(config.f5_vip_address)] = "F5 VIP"
    return reasons


def ip_pool_free_addresses(
    *,
    config: AutoscalingConfig,
    exclude: Iterable[str] = (),
    vcenter: VCenter | None = None,
    limit: int | None = None,
) -> list[str]:
    """Free addresses of the pool in ascending order (at most ``limit``)."""
    unavailable = ip_addresses_unavailable(config=config, exclude=exclude, vcenter=vcenter)
    free = []
    for address in _addresses(config):
        if address not in unavailable:
            free.append(address)
            if limit is not None and len(free) >= limit:
                break
    return free


def prometheus_target_addresses(*, config: AutoscalingConfig) -> list[str]:
    """Addresses of the service in use outside the lease table, as the registered sources report them (the
    artifacts app: the service's Prometheus targets); [] when none is registered or none can be read.

    Reading them is a best effort here: the lease table and vCenter's guest IPs still protect the allocation,
    and the decision service already refuses to act when the target count is unknown.
    """
    found: list[str] = []
    for source in hooks.addresses_in_use:
        try:
            found.extend(source(config=config))
        except Exception as exc:  # noqa: BLE001 - any failure of the PLG host must not block the allocation
            logger.warning("IP allocation for %s: addresses in use not readable (%s)", config.service_name, exc)
    return found


def _default_vcenter() -> VCenter | None:
    if not getattr(settings, "IXNODE_VCENTER_HOST", ""):
        return None
    return vcenter_client()


@dataclass(frozen=True)
class PoolFree:
    """How many addresses of a pool are free, and a note when not every source of "in use" could be asked."""

    count: int
    note: str = ""


@dataclass(frozen=True)
class PoolInUse:
    """The addresses in use that only systems outside the database know: the service's Prometheus targets and
    vCenter's guest IPs. Read by ``ip_pool_in_use_read`` *before* a decision takes its lock (network I/O, up to
    the vCenter timeout), then counted under the lock with the database's leases by ``ip_pool_free_count``."""

    targets: tuple[str, ...] = ()
    guest_ips: dict[str, str] = field(default_factory=dict)  # address → reason
    note: str = ""  # set when vCenter could not be asked


def ip_pool_in_use_read(
    *,
    config: AutoscalingConfig,
    exclude: Iterable[str] | None = None,
    vcenter: VCenter | None = None,
    check_vcenter: bool = True,
    vcenter_timeout: float | None = None,
) -> PoolInUse:
    """The external half of ``ip_pool_free_count``: the service's Prometheus targets (``exclude`` overrides
    them) and — when IXNODE_VCENTER_HOST is set, or ``vcenter`` is given — vCenter's guest IPs, asked with a short
    timeout (``vcenter_timeout``, default IXNODE_DECISION_VCENTER_TIMEOUT). vCenter failing is not an error: the
    guest IPs are left out and ``note`` says so."""

    targets = tuple(prometheus_target_addresses(config=config) if exclude is None else exclude)
    if vcenter is None and check_vcenter and settings.IXNODE_VCENTER_HOST:
        timeout = vcenter_timeout
        if timeout is None:
            timeout = float(settings.IXNODE_DECISION_VCENTER_TIMEOUT)
        vcenter = vcenter_client(timeout=timeout)
    if vcenter is None:
        return PoolInUse(targets)
    try:
        return PoolInUse(targets, _vcenter_guest_ips(vcenter))
    except Exception as exc:  # noqa: BLE001 - vCenter unreachable must not block or hang the decision
        logger.warning("free IPs of %s: vCenter guest IPs not readable (%s)", config.service_name, exc)
        return PoolInUse(
            targets, note=f"vCenter guest IPs could not be read ({exc.__class__.__name__}: {exc}); counted without them"
        )


def ip_pool_free_count(
    *,
    config: AutoscalingConfig,
    in_use: PoolInUse | None = None,
    exclude: Iterable[str] | None = None,
    vcenter: VCenter | None = None,
    check_vcenter: bool = True,
    vcenter_timeout: float | None = None,
) -> PoolFree:
    """Free addresses of ``config``'s pool, from the very exclusion set allocation uses
    (``ip_addresses_unavailable``: gateway, VIP, every config's active leases, the service's Prometheus
    targets and — when IXNODE_VCENTER_HOST is set — vCenter's guest IPs).

    ``in_use``: the external addresses already read (``ip_pool_in_use_read``); then only the database is asked.
    Without it they are read here (``exclude``, ``vcenter``, ``check_vcenter``, ``vcenter_timeout``: see
    ``ip_pool_in_use_read``). Counted arithmetically (the pool may be large). When vCenter could not be asked
    the count falls back to the other exclusions and ``note`` says so.
    """
    try:
        start, end = _pool(config)
    except ValueError:
        return PoolFree(0, "the pool bounds are not valid addresses")
    if start.version != end.version or int(start) > int(end):
        return PoolFree(0, "the pool bounds are not a valid range")
    if in_use is None:
        in_use = ip_pool_in_use_read(config=config, exclude=exclude, vcenter=vcenter, check_vcenter=check_vcenter,
                                     vcenter_timeout=vcenter_timeout)
    unavailable = ip_addresses_unavailable(config=config, exclude=in_use.targets, guest_ips=in_use.guest_ips)
    taken = 0
    for value in unavailable:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            continue
        if address.version == start.version and int(start) <= int(address) <= int(end):
            taken += 1
    return PoolFree(max(int(end) - int(start) + 1 - taken, 0), in_use.note)


def ip_lease_allocate(
    *,
    config: AutoscalingConfig,
    vm_name: str,
    event: ScaleEvent | None = None,
    exclude: Iterable[str] | None = None,
    vcenter: VCenter | None = None,
    check_vcenter: bool = True,
) -> IPLease:
    """Lease the lowest free address of ``config``'s pool to ``vm_name``.

    ``exclude``: addresses in use that the database does not know about ("ip" or "ip:port"); by default the
    service's Prometheus targets. ``vcenter``: the client whose reported guest IPs are skipped too; by default
    the one configured by VCENTER_* (when IXNODE_VCENTER_HOST is set and ``check_vcenter``).
    Raises ``IPPoolExhausted`` when nothing is free.
    """
    if vm_name:
        existing = IPLease.objects.filter(config=config, vm_name=vm_name, state=LeaseState.LEASED).first()
        if existing is not None:
            return existing
    exclude = prometheus_target_addresses(config=config) if exclude is None else list(exclude)
    if vcenter is None and check_vcenter:
        vcenter = _default_vcenter()
    unavailable = ip_addresses_unavailable(config=config, exclude=exclude, vcenter=vcenter)
    lost: set[str] = set()
    for _attempt in range(MAX_RACE_RETRIES):
        candidate = next(
            (a for a in _addresses(config) if a not in unavailable and a not in lost),
            None,
        )
        if candidate is None:
            raise _exhausted(config, unavailable)
        try:
            with transaction.atomic():
                lease = IPLease.objects.create(
                    config=config, ip_address=candidate, vm_name=vm_name, event=event, state=LeaseState.LEASED
                )
        except IntegrityError:
            # Another run leased it between our read and our insert: take the next one.
            logger.info("IP %s of %s was leased concurrently; trying the next address", candidate, config)
            lost.add(candidate)
            continue
        logger.info("leased %s of %s to %s", candidate, config.service_name, vm_name or "(unnamed VM)")
        return lease
    raise _exhausted(config, unavailable | dict.fromkeys(lost, "leased concurrently"))


def _exhausted(config: AutoscalingConfig, unavailable: dict[str, str]) -> IPPoolExhausted:
    start, end = _pool(config)
    size = int(end) - int(start) + 1
    counts: dict[str, int] = {}
    for address in _addresses(config):
        reason = unavailable.get(address)
        if reason is not None:
            kind = reason.split(" ", 1)[0] if reason.startswith(("leased", "guest")) else reason
            counts[kind] = counts.get(kind, 0) + 1
    detail = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items())) or "none usable"
    return IPPoolExhausted(
        f"IP pool of {config.service_name} ({start}–{end}, {size} addresses) has no free address ({detail}). "
        "Widen the pool, release stale leases, or lower max VMs.",
        config=config,
    )


def ip_lease_release(
    *,
    config: AutoscalingConfig | None = None,
    vm_name: str | None = None,
    ip_address: str | None = None,
    event: ScaleEvent | None = None,
    lease: IPLease | None = None,
) -> int:
    """Release the matching active leases (idempotent); returns how many were released.

    Match by ``lease``, or by any of ``config`` + ``vm_name`` / ``ip_address``, or by ``event`` (rollback).
    """
    if lease is None and not (vm_name or ip_address or event):
        raise ValueError("ip_lease_release needs lease, vm_name, ip_address or event")
    leases = IPLease.objects.filter(state=LeaseState.LEASED)
    if lease is not None:
        leases = leases.filter(pk=lease.pk)
    if config is not None:
        leases = leases.filter(config=config)
    if vm_name:
        leases = leases.filter(vm_name=vm_name)
    if ip_address:
        leases = leases.filter(ip_address=address_of(ip_address))
    if event is not None:
        leases = leases.filter(Q(event=event))
    count = leases.update(state=LeaseState.RELEASED, released_at=timezone.now())
    if count:
        logger.info(
            "released %d IP lease(s) (vm=%s ip=%s event=%s)", count, vm_name, ip_address, getattr(event, "pk", None)
        )
    return count


def ip_lease_assign_vm(*, lease: IPLease, vm_name: str) -> IPLease:
    """Record the VM name on a lease taken before the name was known."""
    IPLease.objects.filter(pk=lease.pk).update(vm_name=vm_name)
    lease.vm_name = vm_name
    return lease
