"""Where the pipelines meet the rest of the product: vCenter, F5, IP leases, network setup, health, targets.

Every call a stage makes to another part of the product goes through this module, so the stages stay about
order, records and rollback. Each function here is a thin call into the owning module (the vCenter and F5
clients, ``autoscaling.services.ip_leases``, ``provisioning.network`` / ``health``,
``artifacts.targets``); the run's clients come from ``ctx.clients`` (``provisioning.clients.Clients``, typed by
the integrations' interfaces). This module is the only reader of ``ctx.clients`` and the stages import no
integration (``tests/provisioning/test_ports_boundary.py`` and the ``stages-through-ports`` import contract).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from artifacts import targets
from autoscaling.choices import NetworkMode
from autoscaling.models import IPLease
from autoscaling.services.ip_leases import IPPoolExhausted, ip_lease_allocate, ip_lease_release
from autoscaling.signals import send_logged
from events.models import ScaleEvent
from exporters.selectors import exporter_install_last_for_address
from exporters.services import monitoring_agents_remove
from ixnode.integrations.f5.interface import F5Conflict, F5DrainTimeout
from ixnode.integrations.vcenter.interface import NetworkCustomization
from ixnode.netaddr import join_host_port
from provisioning import health, network
from provisioning.signals import ip_pool_exhausted
from provisioning.stages.base import StageError

if TYPE_CHECKING:
    from autoscaling.models import AutoscalingConfig
    from provisioning.stages.base import RunContext


@contextmanager
def waiting(ctx: RunContext) -> Iterator[None]:
    """Count the time spent waiting on an external system (the benchmark subtracts it from the run)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        with ctx._lock:
            ctx.waited_seconds += elapsed


# ---- vCenter -------------------------------------------------------------------------------------------


def vm_clone(ctx: RunContext, *, name: str, ip: str) -> str:
    """Clone the config's template to ``name`` (powered off; guest customization with ``ip`` when the config
    uses it); returns the new VM's managed object id."""

    config = ctx.config
    customization: NetworkCustomization | None = None
    if config.network_mode == NetworkMode.GUEST_CUSTOMIZATION:
        dns = [d.strip() for d in (config.dns_servers or "").split(",") if d.strip()]
        customization = NetworkCustomization.from_subnet(
            ip=ip, subnet_cidr=config.subnet_cidr, gateway=config.gateway, dns_servers=dns, hostname=name
        )
    with waiting(ctx):
        vm = ctx.clients.vcenter.vm_clone(
            source=config.template.name, name=name, customization=customization, power_on=False
        )
    return vm.moref


def vm_exists(ctx: RunContext, *, name: str) -> bool:
    with waiting(ctx):
        return ctx.clients.vcenter.vm_find(name) is not None


def vm_names(ctx: RunContext, *, prefix: str) -> list[str]:
    with waiting(ctx):
        return [vm.name for vm in ctx.clients.vcenter.vms_list(templates=False) if vm.name.startswith(prefix)]


def vm_power_on(ctx: RunContext, *, name: str) -> None:
    with waiting(ctx):
        ctx.clients.vcenter.vm_power_on(name)


def vm_shutdown(ctx: RunContext, *, name: str, timeout: float) -> str:
    """Guest shutdown, then power off when the guest has not stopped within ``timeout``; says how."""
    with waiting(ctx):
        result = ctx.clients.vcenter.vm_shutdown(name, timeout=timeout)
    detail = f" ({result.detail})" if result.detail else ""
    return f"stopped by {result.method} in {result.seconds:.1f}s{detail}"


def vm_destroy(ctx: RunContext, *, name: str) -> bool:
    """Power off (if on) and destroy; False when the VM did not exist."""
    with waiting(ctx):
        return bool(ctx.clients.vcenter.vm_destroy(name))


# ---- IP leases -----------------------------------------------------------------------------------------


def lease_allocate(ctx: RunContext, *, vm_name: str) -> IPLease:
    """Lease a free address of the config's pool for ``vm_name`` (an IPLease), skipping the service's
    registered targets and every guest IP vCenter reports.

    When the pool turns out to be exhausted at run time (the decision counted a free address that is gone by
    now) the stage fails with an error that says so, and the ip_pool_exhausted notification is sent.
    """

    try:
        return ip_lease_allocate(
            config=ctx.config,
            vm_name=vm_name,
            event=ctx.event,
            exclude=target_list(ctx.config),
            vcenter=ctx.clients.vcenter,
        )
    except IPPoolExhausted as exc:
        text = f"IP pool exhausted: {exc.message}"
        ip_pool_exhausted_notify(ctx, text=text)
        raise StageError(text) from exc


def ip_pool_exhausted_notify(ctx: RunContext, *, text: str) -> None:
    """Tell the apps above (notifications) that the run's pool is exhausted; never fails the run."""
    send_logged(ip_pool_exhausted, ScaleEvent, event=ctx.event, text=f"Scale-out #{ctx.event.pk}: {text}")


def lease_release(ctx: RunContext, *, lease_id: int) -> bool:

    lease = IPLease.objects.filter(pk=lease_id).first()
    if lease is None:
        return False
    return ip_lease_release(lease=lease) > 0


# ---- network, health -------------------------------------------------------------------------------


def network_configure(ctx: RunContext, *, vm_name: str, ip: str) -> None:
    """Give the VM its address: guest customization (wait for VMware Tools to report it) or SSH + netplan."""

    with waiting(ctx):
        network.network_configure(config=ctx.config, vm_name=vm_name, ip=ip, vcenter=ctx.clients.vcenter, log=ctx.log)


def health_wait(ctx: RunContext, *, ip: str) -> None:
    """Poll ``http://<ip>:<vipPort><healthCheckPath>`` until 2xx (IXNODE_HEALTH_TIMEOUT)."""

    with waiting(ctx):
        health.health_wait(config=ctx.config, ip=ip, log=ctx.log)


# ---- F5 pool members (the config's pool, the VM's address, the service port) -----------------------------


def f5_member_add(ctx: RunContext, *, ip: str) -> str:
    """Add the VM to the config's pool (creating its node); returns the member's name. Idempotent."""
    config = ctx.config
    with waiting(ctx):
        return ctx.clients.f5.add_member(pool=config.f5_pool_name, address=ip, port=config.f5_vip_port).name


def f5_member_remove(ctx: RunContext, *, ip: str) -> bool:
    """Remove the VM's member from the pool; False when it was not a member."""
    config = ctx.config
    with waiting(ctx):
        return ctx.clients.f5.remove_member(pool=config.f5_pool_name, address=ip, port=config.f5_vip_port)


def f5_node_delete(ctx: RunContext, *, ip: str) -> str:
    """Delete the VM's node; says what happened ("" when it did not exist). A node that another pool still
    uses is kept, and the answer says so."""
    with waiting(ctx):
        try:
            return f"deleted F5 node {ip}" if ctx.clients.f5.delete_node(address=ip) else ""
        except F5Conflict as exc:
            return str(exc)


def f5_member_disable(ctx: RunContext, *, ip: str) -> bool:
    """Stop new connections to the VM's member (existing ones go on); False when it was not a member."""
    config = ctx.config
    with waiting(ctx):
        return ctx.clients.f5.disable_member(pool=config.f5_pool_name, address=ip, port=config.f5_vip_port) is not None


def f5_member_enable_if_disabled(ctx: RunContext, *, ip: str) -> bool:
    """Enable the VM's member again if it exists and is disabled; True when it was re-enabled."""
    pool, port = ctx.config.f5_pool_name, ctx.config.f5_vip_port
    with waiting(ctx):
        current = ctx.clients.f5.get_member(pool=pool, address=ip, port=port)
        if current is None or current.enabled:
            return False
        ctx.clients.f5.enable_member(pool=pool, address=ip, port=port)
        return True


def f5_member_drain(ctx: RunContext, *, ip: str) -> str:
    """Wait until the VM's member has no connections (IXNODE_F5_DRAIN_TIMEOUT); says how it ended. Past the timeout
    the member is removed anyway: the timeout is the operator's bound on a graceful drain."""
    config = ctx.config
    with waiting(ctx):
        try:
            waited = ctx.clients.f5.wait_drained(pool=config.f5_pool_name, address=ip, port=config.f5_vip_port)
        except F5DrainTimeout as exc:
            return f"{exc} Removing it anyway."
    return f"{ip} drained after {waited}s"


# ---- Prometheus targets ------------------------------------------------------------------------------


def target_address(config: AutoscalingConfig, ip: str) -> str:
    """The VM's node_exporter target (``[v6]:port`` for an IPv6 address)."""
    return join_host_port(ip, config.node_exporter_port)


def target_add(ctx: RunContext, *, ip: str, vm_name: str) -> bool:
    """Register the VM's node_exporter in the service's file_sd targets; False when it already was."""

    _targets, changed = targets.target_add(config=ctx.config, target=target_address(ctx.config, ip))
    return changed


def target_remove(ctx: RunContext, *, ip: str) -> bool:
    """Unregister the VM's target; False when it was not registered."""

    _targets, changed = targets.target_remove(config=ctx.config, target=target_address(ctx.config, ip))
    return changed


def target_list(config: AutoscalingConfig) -> list[str]:

    return list(targets.targets_list(config=config))


# ---- monitoring agents ----------------------------------------------------------------------------------


def monitoring_uninstall(ctx: RunContext, *, vm_name: str, ip: str) -> str:
    """Remove the monitoring agents *we* installed on the VM (the exporters app's record of successful installs
    on its address); says what happened. A VM nobody installed agents on through the product is left alone."""
    install = exporter_install_last_for_address(address=ip)
    if install is None:
        return "no agents installed by us"
    with waiting(ctx):
        changed = monitoring_agents_remove(
            address=ip,
            ssh_user=install.ssh_user,
            ssh_key_path=install.ssh_key_path,
            ssh_port=install.ssh_port,
            components=list(install.components),
            exporter_port=install.exporter_port,
        )
    return "; ".join(changed) or f"agents of install #{install.pk} were already gone"
