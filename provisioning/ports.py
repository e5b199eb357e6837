"""Where the pipelines meet the rest of the product: vCenter, F5, IP leases, network setup, health, targets.

Every call a stage makes to another part of the product goes through this module, so the stages stay about
order, records and rollback. Each function here is a thin call into the owning module (the vCenter and F5
clients, ``autoscaling.services.ip_leases``, ``provisioning.network`` / ``health``,
``artifacts.targets``); ``Clients`` builds the clients once per run (lazily: a scale-in that
never touches vCenter does not log in to it).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autoscaling.models import AutoscalingConfig
    from provisioning.stages.base import RunContext


class Clients:
    """The external clients of one run, created on first use and shared by the run's threads."""

    def __init__(self, *, vcenter: Any = None, f5: Any = None) -> None:
        self._vcenter = vcenter
        self._f5 = f5
        self._lock = threading.Lock()

    @property
    def vcenter(self):
        with self._lock:
            if self._vcenter is None:
                from ixnode.integrations.vcenter.client import vcenter_client

                self._vcenter = vcenter_client()
            return self._vcenter

    @property
    def f5(self):
        with self._lock:
            if self._f5 is None:
                from ixnode.integrations.f5.client import F5Client

                self._f5 = F5Client.from_settings()
            return self._f5

    def close(self) -> None:
        """Nothing to close: vCenter sessions are pooled by the vCenter client, bigrest's by its session."""


@contextmanager
def waiting(ctx: RunContext):
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
    from autoscaling.choices import NetworkMode
    from ixnode.integrations.vcenter.client import NetworkCustomization

    config = ctx.config
    customization = None
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


def lease_allocate(ctx: RunContext, *, vm_name: str):
    """Lease a free address of the config's pool for ``vm_name`` (an IPLease), skipping the service's
    registered targets and every guest IP vCenter reports.

    When the pool turns out to be exhausted at run time (the decision counted a free address that is gone by
    now) the stage fails with an error that says so, and the ip_pool_exhausted notification is sent.
    """
    from provisioning.stages.base import StageError
    from autoscaling.services.ip_leases import IPPoolExhausted, ip_lease_allocate

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
    """Send the ip_pool_exhausted notification for the run's service (best effort: never fails the run)."""
    try:
        from notifications.choices import NotificationKind
        from notifications.services import notification_send
    except ImportError:  # notifications app not installed
        return
    try:
        notification_send(kind=NotificationKind.IP_POOL_EXHAUSTED, service=ctx.config.service_name,
                          key="ip-pool", text=f"Scale-out #{ctx.event.pk}: {text}")
    except Exception:  # noqa: BLE001 - a notification channel's failure is logged, the run still fails cleanly
        import logging

        logging.getLogger(__name__).exception("ip_pool_exhausted notification for %s failed", ctx.config)


def lease_release(ctx: RunContext, *, lease_id: int) -> bool:
    from autoscaling.models import IPLease
    from autoscaling.services.ip_leases import ip_lease_release

    lease = IPLease.objects.filter(pk=lease_id).first()
    if lease is None:
        return False
    return ip_lease_release(lease=lease) > 0


# ---- network, health -------------------------------------------------------------------------------


def network_configure(ctx: RunContext, *, vm_name: str, ip: str) -> None:
    """Give the VM its address: guest customization (wait for VMware Tools to report it) or SSH + netplan."""
    from provisioning.network import network_configure as configure

    with waiting(ctx):
        configure(config=ctx.config, vm_name=vm_name, ip=ip, vcenter=ctx.clients.vcenter, log=ctx.log)


def health_wait(ctx: RunContext, *, ip: str) -> None:
    """Poll ``http://<ip>:<vipPort><healthCheckPath>`` until 2xx (IXNODE_HEALTH_TIMEOUT)."""
    from provisioning.health import health_wait as wait

    with waiting(ctx):
        wait(config=ctx.config, ip=ip, log=ctx.log)


# ---- Prometheus targets ------------------------------------------------------------------------------


def target_address(config: AutoscalingConfig, ip: str) -> str:
    return f"{ip}:{config.node_exporter_port}"


def target_add(ctx: RunContext, *, ip: str, vm_name: str) -> bool:
    """Register the VM's node_exporter in the service's file_sd targets; False when it already was."""
    from artifacts.targets import target_add as add

    _targets, changed = add(config=ctx.config, target=target_address(ctx.config, ip))
    return changed


def target_remove(ctx: RunContext, *, ip: str) -> bool:
    """Unregister the VM's target; False when it was not registered."""
    from artifacts.targets import target_remove as remove

    _targets, changed = remove(config=ctx.config, target=target_address(ctx.config, ip))
    return changed


def target_list(config: AutoscalingConfig) -> list[str]:
    from artifacts.targets import targets_list

    return list(targets_list(config=config))


# ---- monitoring agents ----------------------------------------------------------------------------------


def monitoring_uninstall(ctx: RunContext, *, vm_name: str, ip: str) -> str:
    """Remove the monitoring agents *we* installed on the VM (the exporters app's record of successful installs
    on its address); says what happened. A VM nobody installed agents on through the product is left alone."""
    try:
        from exporters.models import ExporterInstallHost
        from exporters.services import monitoring_agents_remove
    except ImportError:
        return "no agents installed by us (exporter management is not installed)"
    host = (
        ExporterInstallHost.objects.filter(address=ip, status="succeeded", install__action="install")
        .select_related("install")
        .order_by("-pk")
        .first()
    )
    if host is None:
        return "no agents installed by us"
    install = host.install
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
