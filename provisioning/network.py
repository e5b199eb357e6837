"""Network setup of a new VM: a static address from the IP pool, per the config's network mode.

- ``ssh_netplan`` (the seed's way): wait for the address the VM booted with (DHCP; VMware Tools report it
  to vCenter), SSH there with the config's user and key, write a netplan file (static IP with the subnet's
  prefix, gateway, DNS) atomically, apply it (``IXNODE_NETPLAN_APPLY_COMMAND``, default ``sudo netplan
  apply``), then reconnect on the new address and check the file is there.
- ``guest_customization``: vSphere's LinuxPrep already set the address at clone time; wait until VMware Tools
  report it.

``netplan_render`` is a pure function (golden-tested); the rest does I/O.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import yaml
from django.conf import settings

from autoscaling.choices import NetworkMode
from autoscaling.models import AutoscalingConfig
from autoscaling.validation import dns_server_list
from ixnode.integrations.ssh.client import ssh_client
from ixnode.integrations.ssh.interface import SSH, SSHCommandFailed, SSHError, SSHUnavailable
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenter, VCenterError

logger = logging.getLogger(__name__)

Log = Callable[[str], None]


class NetworkSetupError(Exception):
    """Network setup of a VM failed; the message names the VM, the step and what to check."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class NetworkSetupResult:
    vm_name: str
    ip: str
    mode: str
    bootstrap_ip: str = ""
    netplan_path: str = ""
    netplan: str = ""
    already_configured: bool = False
    log: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# Pure rendering


def dns_servers_of(config: AutoscalingConfig) -> list[str]:

    return dns_server_list(config.dns_servers)


def netplan_render(
    *,
    interface: str,
    address: str,
    prefix_length: int,
    gateway: str,
    dns_servers: Sequence[str] = (),
    search_domains: Sequence[str] = (),
    mac_address: str = "",
    comment: str = "",
) -> str:
    """A netplan v2 document giving ``interface`` the static ``address/prefix_length``.

    With ``mac_address`` the interface is matched by MAC (and keeps the name ``interface``).
    """
    ip = ipaddress.ip_address(address)
    ethernet: dict = {}
    if mac_address:
        ethernet["match"] = {"macaddress": mac_address.lower()}
        ethernet["set-name"] = interface
    ethernet["dhcp4"] = False
    ethernet["dhcp6"] = False
    ethernet["addresses"] = [f"{ip}/{int(prefix_length)}"]
    if gateway:
        ethernet["routes"] = [{"to": "default", "via": str(ipaddress.ip_address(gateway))}]
    if dns_servers or search_domains:
        nameservers: dict = {}
        if dns_servers:
            nameservers["addresses"] = [str(ipaddress.ip_address(server)) for server in dns_servers]
        if search_domains:
            nameservers["search"] = list(search_domains)
        ethernet["nameservers"] = nameservers
    document = {"network": {"version": 2, "renderer": "networkd", "ethernets": {interface: ethernet}}}
    header = "# Written by IXNode Autoscaling" + (f": {comment}" if comment else "") + ". Do not edit by hand.\n"
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def netplan_render_for_config(*, config: AutoscalingConfig, ip: str, vm_name: str = "", interface: str = "") -> str:
    network = ipaddress.ip_network(config.subnet_cidr, strict=False)
    return netplan_render(
        interface=interface or settings.IXNODE_NETPLAN_INTERFACE,
        address=ip,
        prefix_length=network.prefixlen,
        gateway=str(config.gateway),
        dns_servers=dns_servers_of(config),
        comment=f"{config.service_name} {vm_name}".strip(),
    )


# ---------------------------------------------------------------------------------------------------------
# SSH + netplan


def _ssh(config: AutoscalingConfig, host: str, port: int) -> SSH:
    return ssh_client(host=host, port=port, user=config.ssh_user, key_path=config.ssh_key_path)


def network_configure_over_ssh(
    *,
    config: AutoscalingConfig,
    vm_name: str,
    ip: str,
    bootstrap_ip: str,
    port: int | None = None,
    netplan_path: str | None = None,
    apply_command: str | None = None,
    use_sudo: bool | None = None,
    interface: str | None = None,
    boot_timeout: float | None = None,
    reconnect_timeout: float | None = None,
    apply_timeout: float | None = None,
    log: Log | None = None,
) -> NetworkSetupResult:
    """SSH to ``bootstrap_ip``, write and apply the netplan file for ``ip``, reconnect on ``ip`` and verify."""
    port = int(port or settings.IXNODE_SSH_PORT)
    path = netplan_path or settings.IXNODE_NETPLAN_PATH
    command = apply_command if apply_command is not None else settings.IXNODE_NETPLAN_APPLY_COMMAND
    sudo = settings.IXNODE_NETPLAN_SUDO if use_sudo is None else use_sudo
    boot_wait = settings.IXNODE_SSH_BOOT_TIMEOUT if boot_timeout is None else boot_timeout
    reconnect_wait = settings.IXNODE_SSH_RECONNECT_TIMEOUT if reconnect_timeout is None else reconnect_timeout
    apply_wait = settings.IXNODE_NETPLAN_APPLY_TIMEOUT if apply_timeout is None else apply_timeout
    text = netplan_render_for_config(config=config, ip=ip, vm_name=vm_name, interface=interface or "")
    result = NetworkSetupResult(
        vm_name=vm_name, ip=ip, mode=NetworkMode.SSH_NETPLAN, bootstrap_ip=bootstrap_ip, netplan_path=path, netplan=text
    )

    def note(line: str) -> None:
        result.log.append(line)
        logger.info("network %s: %s", vm_name, line)
        if log is not None:
            log(line)

    def fail(step: str, exc: SSHError) -> NetworkSetupError:
        return NetworkSetupError(f"network setup of {vm_name}: {step} failed: {exc.message}")

    # 1. The address the VM booted with.
    try:
        first = _ssh(config, bootstrap_ip, port).connect(wait=boot_wait, interval=1.0)
    except SSHUnavailable as exc:
        # A re-run after the address already changed: the bootstrap address is gone, the new one answers.
        if bootstrap_ip != ip and _already_configured(config, ip, port, path, text):
            result.already_configured = True
            note(f"{ip} already answers with the expected netplan file; nothing to do")
            return result
        raise fail(f"SSH to the bootstrap address {bootstrap_ip}:{port}", exc) from exc
    except SSHError as exc:
        raise fail(f"SSH to the bootstrap address {bootstrap_ip}:{port}", exc) from exc

    with first:
        note(f"connected to {config.ssh_user}@{bootstrap_ip}:{port}")
        # 2. The netplan file, atomically (netplan wants it readable by root only).
        try:
            first.upload(text, path, mode=0o600, sudo=sudo)
        except SSHError as exc:
            raise fail(f"writing {path}", exc) from exc
        note(f"wrote {path} ({ip}/{ipaddress.ip_network(config.subnet_cidr, strict=False).prefixlen} via "
             f"{config.gateway})")
        # 3. Apply. The session usually dies with the old address: that is success, proven by step 4.
        if command:
            started = time.monotonic()
            try:
                output = first.run(command, timeout=apply_wait)
                note(f"'{command}' finished in {time.monotonic() - started:.1f}s"
                     + (f": {output.stdout.strip()[-200:]}" if output.stdout.strip() else ""))
            except SSHCommandFailed as exc:
                if exc.result is not None:  # the command itself failed: the address did not change
                    raise fail(f"'{command}'", exc) from exc
                note(f"'{command}' did not return within {apply_wait:g}s (connection lost with the old address)")
            except SSHUnavailable:
                note(f"connection to {bootstrap_ip} dropped during '{command}' (expected when the address changes)")
        else:
            note("no apply command configured (IXNODE_NETPLAN_APPLY_COMMAND is empty)")

    # 4. The new address answers, and it is the machine we configured.
    try:
        with _ssh(config, ip, port).connect(wait=reconnect_wait, interval=0.5) as second:
            found = second.read_file(path).decode(errors="replace")
    except FileNotFoundError as exc:
        raise NetworkSetupError(
            f"network setup of {vm_name}: {ip} answers SSH but has no {path}: another machine holds {ip}?"
        ) from exc
    except SSHError as exc:
        raise fail(f"reconnecting on the new address {ip}:{port}", exc) from exc
    if found != text:
        raise NetworkSetupError(
            f"network setup of {vm_name}: {path} on {ip} differs from what was written: another machine holds {ip}?"
        )
    note(f"reconnected on {ip}:{port}; netplan file verified")
    return result


def _already_configured(
    config: AutoscalingConfig, ip: str, port: int, path: str, text: str
) -> bool:
    try:
        with _ssh(config, ip, port).connect() as client:
            return client.read_file(path).decode(errors="replace") == text
    except (SSHError, FileNotFoundError):
        return False


# ---------------------------------------------------------------------------------------------------------
# Entry point of the pipeline stage


def network_configure(
    *,
    config: AutoscalingConfig,
    vm_name: str,
    ip: str,
    vcenter: VCenter | None = None,
    log: Log | None = None,
) -> NetworkSetupResult:
    """Give VM ``vm_name`` the address ``ip`` the way the config says (``network_mode``)."""
    client = vcenter or vcenter_client()
    if config.network_mode == NetworkMode.GUEST_CUSTOMIZATION:
        try:
            client.vm_wait_for_ip(vm_name, expected=ip)
        except VCenterError as exc:
            raise NetworkSetupError(
                f"network setup of {vm_name}: guest customization did not bring up {ip}: {exc.message}"
            ) from exc
        line = f"VMware Tools report {ip} (guest customization)"
        if log is not None:
            log(line)
        return NetworkSetupResult(vm_name=vm_name, ip=ip, mode=NetworkMode.GUEST_CUSTOMIZATION, log=[line])
    try:
        booted = client.vm_wait_for_ip(vm_name)
    except VCenterError as exc:
        raise NetworkSetupError(
            f"network setup of {vm_name}: the VM reported no boot address to vCenter: {exc.message} "
            "(does the template get an address by DHCP and run VMware Tools?)"
        ) from exc
    bootstrap = booted.ip_address or (booted.guest_ips[0] if booted.guest_ips else "")
    if log is not None:
        log(f"{vm_name} booted with {bootstrap}")
    return network_configure_over_ssh(
        config=config, vm_name=vm_name, ip=ip, bootstrap_ip=bootstrap, log=log
    )
