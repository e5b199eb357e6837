"""Drift report (read-only): a service's VMs in vCenter vs its Prometheus targets vs its F5 pool members.

The blind spot of counting by targets, made visible: the VM count comes from Prometheus targets, so a VM
that exists but is not a target (or a target whose VM is gone, or an F5 member nobody manages) silently skews
decisions and costs money. ``drift_report(config=...)`` lists every address with where it was seen, then the findings:

- ``orphan_vm``: a VM named like ours (``<prefix>-YYYYMMDDHHmmss``) that is not a target or not in the pool,
  or that no ManagedVM row knows;
- ``target_without_vm`` / ``member_without_target``: registered in one place but not the other;
- ``managed_vm_missing``: a ManagedVM row in service or in the warm pool whose VM is gone from vCenter;
- ``managed_vm_stuck``: a ManagedVM row still provisioning or draining while no run of the service is in
  flight (a rollback that could not finish);
- ``lease_leak``: an IP lease held for a VM that does not exist.

Nothing is changed; each source that could not be read is reported in ``errors`` instead of guessed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext, gettext_noop

from autoscaling.choices import ManagedVMState
from autoscaling.models import AutoscalingConfig, IPLease, ManagedVM
from events.choices import IN_FLIGHT_STATUSES
from events.models import ScaleEvent
from ixnode.integrations.f5.client import f5_client
from ixnode.integrations.f5.interface import F5
from ixnode.integrations.prometheus.client import prometheus_client
from ixnode.integrations.prometheus.interface import Prometheus
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenter
from ixnode.netaddr import address_of


@dataclass
class DriftFinding:
    kind: str
    subject: str
    detail: str  # English (the JSON, the API)
    # the detail as its English msgid and values, for ``shown_detail`` (left out of the JSON)
    msgid: str = field(default="", repr=False)
    params: dict[str, Any] = field(default_factory=dict, repr=False)

    def shown_detail(self) -> str:
        """The detail in the active language."""
        return gettext(self.msgid) % self.params if self.msgid else self.detail


# A ManagedVM row provisioning or draining with no run in flight, by (state, its VM is in vCenter).
STUCK: dict[tuple[str, bool], str] = {
    (ManagedVMState.PROVISIONING, True): gettext_noop(
        "provisioning with no run in flight (in vCenter): a rollback that could not finish; destroy or restore it by "
        "hand"),
    (ManagedVMState.PROVISIONING, False): gettext_noop(
        "provisioning with no run in flight (not in vCenter): a rollback that could not finish; destroy or restore it "
        "by hand"),
    (ManagedVMState.DRAINING, True): gettext_noop(
        "draining with no run in flight (in vCenter): a rollback that could not finish; destroy or restore it by hand"),
    (ManagedVMState.DRAINING, False): gettext_noop(
        "draining with no run in flight (not in vCenter): a rollback that could not finish; destroy or restore it by "
        "hand"),
}


def _finding(kind: str, subject: str, msgid: str, **params: Any) -> DriftFinding:
    return DriftFinding(kind, subject, msgid % params, msgid, params)


@dataclass
class DriftReport:
    service: str
    vms: list[dict[str, str | list[str]]] = field(default_factory=list)  # {"name", "ips"}
    targets: list[str] = field(default_factory=list)  # host:port
    members: list[str] = field(default_factory=list)  # address:port
    findings: list[DriftFinding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings and not self.errors

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["findings"] = [{"kind": f.kind, "subject": f.subject, "detail": f.detail} for f in self.findings]
        data["clean"] = self.clean
        return data


def drift_report(
    *, config: AutoscalingConfig, vcenter: VCenter | None = None, f5: F5 | None = None,
    prometheus: Prometheus | None = None,
) -> DriftReport:
    """Compare the service's VMs, targets and pool members (clients not given are built by their factories)."""
    report = DriftReport(service=config.service_name)
    pattern = re.compile(config.managed_vm_regex)

    vm_ips: dict[str, set[str]] = {}
    vcenter_ok = True
    try:
        if vcenter is None:
            vcenter = vcenter_client()
        for vm in vcenter.vms_list(templates=False):
            if pattern.match(vm.name):
                vm_ips[vm.name] = {ip for ip in (vm.ip_address, *vm.guest_ips) if ip}
    except Exception as exc:
        vcenter_ok = False
        report.errors.append(f"vCenter: {exc}")
    report.vms = [{"name": name, "ips": sorted(ips)} for name, ips in sorted(vm_ips.items())]

    targets: set[str] = set()
    targets_ok = True
    try:
        if prometheus is None:
            prometheus = prometheus_client()
        targets = {t.instance for t in prometheus.targets(config.prometheus_job_name)}
    except Exception as exc:
        targets_ok = False
        report.errors.append(f"Prometheus: {exc}")
    report.targets = sorted(targets)

    members: set[str] = set()
    f5_ok = True
    try:
        if f5 is None:
            f5 = f5_client()
        members = {f"{m.address}:{m.port}" for m in f5.list_members(pool=config.f5_pool_name)}
    except Exception as exc:
        f5_ok = False
        report.errors.append(f"F5: {exc}")
    report.members = sorted(members)

    target_hosts = {address_of(t) for t in targets}
    member_hosts = {address_of(m) for m in members}
    managed = {
        vm.name: vm for vm in ManagedVM.objects.filter(config=config).exclude(state=ManagedVMState.DELETED)
    }

    run_in_flight = ScaleEvent.objects.filter(config=config, status__in=IN_FLIGHT_STATUSES).exists()
    add = report.findings.append

    if vcenter_ok:
        for name, ips in sorted(vm_ips.items()):
            row = managed.get(name)
            known = ips | ({row.ip_address} if row and row.ip_address else set())
            if row is None:
                add(_finding("orphan_vm", name, gettext_noop("a VM named like ours that no ManagedVM row knows")))
            elif row.state != ManagedVMState.IN_SERVICE:
                continue  # a run is creating or removing it
            if targets_ok and not known & target_hosts:
                add(_finding("orphan_vm", name, gettext_noop("not a Prometheus target of job %(job)s"),
                             job=config.prometheus_job_name))
            if f5_ok and not known & member_hosts:
                add(_finding("orphan_vm", name, gettext_noop("not a member of F5 pool %(pool)s"),
                             pool=config.f5_pool_name))
        for name, row in sorted(managed.items()):
            if row.state == ManagedVMState.IN_SERVICE and name not in vm_ips:
                add(_finding("managed_vm_missing", name,
                             gettext_noop("in service according to the database, gone from vCenter")))
            elif row.state == ManagedVMState.WARM and name not in vm_ips:
                add(_finding("managed_vm_missing", name,
                             gettext_noop("in the warm pool (database), gone from vCenter")))
        if not run_in_flight:
            for name, row in sorted(managed.items()):
                if row.state in (ManagedVMState.PROVISIONING, ManagedVMState.DRAINING):
                    add(_finding("managed_vm_stuck", name, STUCK[(row.state, name in vm_ips)]))
        for lease in IPLease.objects.filter(config=config, state="leased"):
            if lease.vm_name and lease.vm_name not in vm_ips and lease.vm_name not in managed:
                add(_finding("lease_leak", lease.ip_address, gettext_noop("leased for %(vm)s, which does not exist"),
                             vm=lease.vm_name))
    if targets_ok and f5_ok:
        for target in sorted(targets):
            if address_of(target) not in member_hosts:
                add(_finding("target_without_member", target, gettext_noop("not in F5 pool %(pool)s"),
                             pool=config.f5_pool_name))
        for member in sorted(members):
            if address_of(member) not in target_hosts:
                add(_finding("member_without_target", member, gettext_noop("an F5 member Prometheus does not monitor")))
    if targets_ok and vcenter_ok:
        all_vm_ips = set().union(*vm_ips.values()) if vm_ips else set()
        managed_ips = {row.ip_address for row in managed.values() if row.ip_address}
        for target in sorted(targets):
            host = address_of(target)
            if host in managed_ips and host not in all_vm_ips:
                add(_finding("target_without_vm", target,
                             gettext_noop("the target's autoscaled VM is gone from vCenter")))
    return report
