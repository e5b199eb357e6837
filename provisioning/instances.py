"""Every VM of a service as the systems see it: the service page's instances panel (and the API's).

The VMs are the service's base VMs (its registered Prometheus targets — the file_sd file — and the job's active
targets, less the addresses of VMs the autoscaler created), the VMs the autoscaler created and those waiting in
the warm pool. For each: vCenter's power state, its F5 pool member, its Prometheus target's health, its age and
its scale-in protection.

vCenter, the F5, Prometheus and the PLG host are read at the same time, each with a bounded timeout
(``IXNODE_INSTANCES_TIMEOUT``), so the page waits for the slowest of them at most, never for the sum. A system
that does not answer leaves its column unknown and says so in a sentence (``InstancesPanel.notes``); the technical
detail is kept apart for the page to fold away. Nothing here writes.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from artifacts.targets import targets_list
from autoscaling import selectors
from autoscaling.choices import ManagedVMState
from autoscaling.models import AutoscalingConfig, ManagedVM
from ixnode.integrations.f5.client import f5_client
from ixnode.integrations.f5.interface import F5, F5ConfigurationError, F5NotFound, PoolMember
from ixnode.integrations.plg.interface import PlgError
from ixnode.integrations.prometheus.client import prometheus_client
from ixnode.integrations.prometheus.interface import Target
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenterConfigError, VCenterError, VMInfo
from ixnode.netaddr import HostPortError, address_of, join_host_port, split_host_port

logger = logging.getLogger(__name__)

KIND_BASE = "base"
KIND_AUTOSCALED = "autoscaled"
KIND_WARM = "warm"


@dataclass(frozen=True)
class SystemNote:
    """Why a column is unknown: a sentence for the operator, and the technical detail to fold away."""

    system: str  # vcenter | f5 | prometheus | targets
    text: str
    detail: str = ""


@dataclass
class Instance:
    """One VM of the service. ``None`` in a column: that system could not be asked; ``""``: asked, and the VM is
    not there (no vCenter VM with that name/address, not an F5 member, not a Prometheus target)."""

    name: str
    ip: str
    kind: str
    state: str = ""  # ManagedVMState of an autoscaled/warm VM; "" for a base VM
    state_label: str = ""
    power: str | None = None  # poweredOn | poweredOff | suspended
    f5_state: str | None = None  # the member's state (up, down, unchecked, user-down, …)
    f5_enabled: bool | None = None
    target_health: str | None = None  # up | down | unknown
    target_error: str = ""
    created_at: datetime | None = None
    protected: bool | None = None  # None: a base VM (never picked for scale-in)
    target: str = ""  # a base VM's Prometheus target (host:port)
    vm_id: int | None = None  # ManagedVM primary key

    @property
    def age_seconds(self) -> int | None:
        if self.created_at is None:
            return None
        return max(0, math.floor((timezone.now() - self.created_at).total_seconds()))

    @property
    def can_protect(self) -> bool:
        """Protection means something for an autoscaled VM that is (or will be) in service."""
        return self.vm_id is not None and self.kind == KIND_AUTOSCALED


@dataclass
class InstancesPanel:
    instances: list[Instance] = field(default_factory=list)
    notes: list[SystemNote] = field(default_factory=list)

    def note(self, system: str) -> SystemNote | None:
        return next((n for n in self.notes if n.system == system), None)

    @property
    def in_service(self) -> int:
        """Base VMs and autoscaled VMs in service (what the VM count should be once runs have settled)."""
        return sum(1 for i in self.instances if i.kind == KIND_BASE or i.state == ManagedVMState.IN_SERVICE)

    @property
    def counts(self) -> dict[str, int]:
        result = {KIND_BASE: 0, KIND_AUTOSCALED: 0, KIND_WARM: 0}
        for instance in self.instances:
            result[instance.kind] += 1
        return result


def _timeout() -> float:
    return float(getattr(settings, "IXNODE_INSTANCES_TIMEOUT", 5.0))


# --- the four reads (each runs in its own thread; no database access in them) ---------------------------------

def _read_vcenter(timeout: float) -> list[VMInfo]:
    return vcenter_client(timeout=timeout).vms_list(templates=False)


_f5_clients: dict[tuple[object, ...], F5] = {}
_f5_lock = threading.Lock()


def _f5_client(timeout: float) -> F5:
    """One F5 client per process and settings: its login token is reused from page to page (a BIG-IP limits the
    tokens a user may hold, so a login per page view would exhaust them)."""
    bound = min(timeout, float(settings.IXNODE_F5_TIMEOUT))
    key = (settings.IXNODE_F5_HOST, settings.IXNODE_F5_USER, settings.IXNODE_F5_PASSWORD,
    str(settings.IXNODE_F5_VERIFY_TLS),
           settings.IXNODE_F5_PARTITION, bound)
    with _f5_lock:
        client = _f5_clients.get(key)
        if client is None:
            client = f5_client(timeout=bound)
            _f5_clients.clear()
            _f5_clients[key] = client
        return client


def _read_f5(pool: str, timeout: float) -> list[PoolMember]:
    return _f5_client(timeout).list_members(pool=pool)


def _read_prometheus(job: str, timeout: float) -> list[Target]:
    return prometheus_client(timeout=timeout).targets(job)


def _read_registered(config: AutoscalingConfig) -> list[str]:
    if settings.IXNODE_PLG_MODE == "off":
        return []
    return targets_list(config=config)


def _vcenter_note(exc: BaseException) -> SystemNote:
    if isinstance(exc, VCenterConfigError):
        return SystemNote("vcenter", _("vCenter is not configured (IXNODE_VCENTER_HOST, IXNODE_VCENTER_USER, "
                                       "IXNODE_VCENTER_PASSWORD), so "
                                       "power states are not shown."))
    detail = exc.message if isinstance(exc, VCenterError) else f"{exc.__class__.__name__}: {exc}"
    return SystemNote("vcenter", _("vCenter did not answer, so power states are not shown."), detail)


def _f5_note(exc: BaseException, pool: str) -> SystemNote:
    if isinstance(exc, F5ConfigurationError) and exc.missing:
        return SystemNote("f5", _("The F5 BIG-IP is not configured (IXNODE_F5_HOST, IXNODE_F5_USER, "
                                  "IXNODE_F5_PASSWORD), so pool member "
                                  "states are not shown."))
    if isinstance(exc, F5ConfigurationError):  # set, but to something the client cannot use: say what and why
        reason = exc.translated()
        return SystemNote("f5", _("The F5 BIG-IP settings cannot be used, so pool member states are not shown. "
                                  "%(reason)s") % {"reason": reason}, "" if reason == str(exc) else str(exc))
    if isinstance(exc, F5NotFound):
        return SystemNote("f5", _("The F5 pool %(pool)s does not exist on the BIG-IP; create it or correct the "
                                  "config's pool name.") % {"pool": pool}, str(exc))
    return SystemNote("f5", _("The F5 BIG-IP did not answer, so pool member states are not shown."), str(exc))


def _prometheus_note(exc: BaseException) -> SystemNote:
    return SystemNote("prometheus", _("Prometheus did not answer, so target health is not shown and base VMs may "
                                      "be missing from the list."), str(exc))


def _targets_note(exc: BaseException) -> SystemNote:
    return SystemNote("targets", _("The registered targets could not be read from the PLG host; base VMs are "
                                   "listed from Prometheus' active targets only."), str(exc))


_TIMED_OUT = {
    "vcenter": lambda t: _("vCenter did not answer within %(s)g s, so power states are not shown.") % {"s": t},
    "f5": lambda t: _("The F5 BIG-IP did not answer within %(s)g s, so pool member states are not shown.") % {"s": t},
    "prometheus": lambda t: _("Prometheus did not answer within %(s)g s, so target health is not shown.") % {"s": t},
    "targets": lambda t: _("The PLG host did not answer within %(s)g s; base VMs are listed from Prometheus' active "
                           "targets only.") % {"s": t},
}


# Reads abandoned by an earlier page (their system hung) that have not ended yet, by (system, service): a page does
# not start another read of a system that is still hanging for the same service, so threads do not pile up.
_hanging: dict[tuple[str, str], concurrent.futures.Future] = {}
_hanging_lock = threading.Lock()


def _gather(reads: dict[str, Callable[[], Any]], timeout: float, *, scope: str = ""
            ) -> tuple[dict[str, Any], dict[str, BaseException]]:
    """Run ``reads`` at once; wait at most ``timeout`` (plus a little) for all of them together. A read that is
    still running then is abandoned (its thread ends on its own client timeout) and reported as timed out; while it
    runs, the same read (``scope``: the service) is not started again and is reported as timed out at once."""
    results: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}
    with _hanging_lock:
        for key in list(_hanging):
            if _hanging[key].done():
                del _hanging[key]
        busy = {key for key in reads if (key, scope) in _hanging}
    errors.update({key: TimeoutError() for key in busy})
    todo = {key: read for key, read in reads.items() if key not in busy}
    if not todo:
        return results, errors
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="instances")
    try:
        futures = {pool.submit(read): key for key, read in todo.items()}
        done, pending = concurrent.futures.wait(futures, timeout=timeout + 1.0)
        for future in done:
            system = futures[future]
            try:
                results[system] = future.result()
            except Exception as exc:  # noqa: BLE001 - any failure of one system only blanks its column
                errors[system] = exc
        with _hanging_lock:
            for future in pending:
                errors[futures[future]] = TimeoutError()
                _hanging[(futures[future], scope)] = future
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results, errors


def service_instances(*, config: AutoscalingConfig, reads: dict[str, Callable[[], Any]] | None = None
                      ) -> InstancesPanel:
    """Every VM of ``config`` with power state, IP, F5 member state, target health, age and protection."""
    timeout = _timeout()
    reads = reads or {
        "vcenter": lambda: _read_vcenter(timeout),
        "f5": lambda: _read_f5(config.f5_pool_name, timeout),
        "prometheus": lambda: _read_prometheus(config.prometheus_job_name, timeout),
        "targets": lambda: _read_registered(config),
    }
    managed = list(selectors.managed_vms_alive(config=config).order_by("created_at", "name"))
    results, errors = _gather(reads, timeout, scope=config.service_name)

    panel = InstancesPanel()
    for system, exc in errors.items():
        if isinstance(exc, TimeoutError):
            panel.notes.append(SystemNote(system, _TIMED_OUT[system](timeout)))
        elif system == "vcenter":
            panel.notes.append(_vcenter_note(exc))
        elif system == "f5":
            panel.notes.append(_f5_note(exc, config.f5_pool_name))
        elif system == "prometheus":
            panel.notes.append(_prometheus_note(exc))
        elif not (isinstance(exc, PlgError) and settings.IXNODE_PLG_MODE == "off"):
            panel.notes.append(_targets_note(exc))
        if not isinstance(exc, (TimeoutError, VCenterConfigError, F5ConfigurationError)):
            logger.info("instances of %s: %s not read: %s", config.service_name, system, exc)

    order = list(reads)
    panel.notes.sort(key=lambda note: order.index(note.system) if note.system in order else len(order))

    vms: list[VMInfo] | None = results.get("vcenter")
    members: list[PoolMember] | None = results.get("f5")
    targets: list[Target] | None = results.get("prometheus")
    registered: list[str] = results.get("targets") or []

    by_name = {vm.name: vm for vm in vms or []}
    by_ip: dict[str, VMInfo] = {}
    for vm in vms or []:
        for address in (vm.ip_address, *vm.guest_ips):
            if address:
                by_ip.setdefault(address, vm)
    member_by_ip: dict[str, PoolMember] = {}
    for member in members or []:
        if member.address not in member_by_ip or member.port == config.f5_vip_port:
            member_by_ip[member.address] = member
    target_by_ip = {address_of(t.instance): t for t in targets or []}

    def fill(instance: Instance, vm: VMInfo | None) -> Instance:
        if vms is not None:
            instance.power = vm.power_state if vm is not None else ""
        if members is not None and instance.ip:
            member = member_by_ip.get(instance.ip)
            instance.f5_state = member.state if member else ""
            instance.f5_enabled = member.enabled if member else None
        elif members is not None:
            instance.f5_state = ""
        if targets is not None:
            target = target_by_ip.get(instance.ip) if instance.ip else None
            instance.target_health = target.health if target else ""
            instance.target_error = target.last_error if target else ""
        return instance

    labels = dict(ManagedVMState.choices)
    managed_ips = {vm.ip_address for vm in managed if vm.ip_address}
    # A base VM per target (the VM count counts targets): registered ones first, then those only Prometheus has.
    base_targets: dict[str, str] = {}  # normalised host:port -> host
    for text in [*registered, *(t.instance for t in targets or [])]:
        key, host = _target_key(text), address_of(text)
        if host and host not in managed_ips and key not in base_targets:
            base_targets[key] = host
    target_by_key = {_target_key(t.instance): t for t in targets or []}
    for key, host in base_targets.items():
        guest = by_ip.get(host)
        instance = fill(Instance(name=guest.name if guest else "", ip=host, kind=KIND_BASE, target=key), guest)
        if targets is not None:  # the exact target, not just one on the same address
            target = target_by_key.get(key)
            instance.target_health = target.health if target else ""
            instance.target_error = target.last_error if target else ""
        panel.instances.append(instance)
    for row in managed:
        kind = KIND_WARM if row.state == ManagedVMState.WARM else KIND_AUTOSCALED
        instance = Instance(
            name=row.name, ip=row.ip_address or "", kind=kind, state=row.state, state_label=str(labels[row.state]),
            created_at=row.created_at, protected=row.scale_in_protected, vm_id=row.pk,
        )
        panel.instances.append(fill(instance, by_name.get(row.name)))
    return panel


def _target_key(text: str) -> str:
    """``host:port`` with the host in canonical form (registered targets and Prometheus instances compare equal)."""
    try:
        host, port = split_host_port(text)
    except HostPortError:
        return str(text).strip()
    return join_host_port(address_of(host), port) if port else address_of(host)


def managed_vm_of_service(*, config: AutoscalingConfig, vm_id: int) -> ManagedVM | None:
    """The alive VM ``vm_id`` of ``config`` (None when it is not one of the service's, or gone)."""
    return selectors.managed_vms_alive(config=config).filter(pk=vm_id).first()
