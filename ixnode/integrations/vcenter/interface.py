"""What the product asks of vCenter (:class:`VCenter`), the neutral data it gets back and the errors it can raise.

Product code depends on this module only; ``client.py`` holds the pyVmomi implementation and ``vcenter_client()``,
the one way to build it. No pyVmomi type appears here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

POWERED_ON = "poweredOn"
POWERED_OFF = "poweredOff"
SUSPENDED = "suspended"


# ---------------------------------------------------------------------------------------------------------
# Errors: what can go wrong talking to vCenter, in terms an operator can act on


class VCenterError(Exception):
    """Base of every vCenter failure; ``str(exc)`` says what failed and what to check."""

    def __init__(self, message: str, *, fault: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fault = fault  # the vSphere fault's class name, when there was one


class VCenterConfigError(VCenterError):
    """The VCENTER_* settings are missing or inconsistent."""


class VCenterUnavailable(VCenterError):
    """vCenter could not be reached (network, DNS, refused connection, timeout)."""


class VCenterTLSError(VCenterUnavailable):
    """The TLS handshake failed: certificate not trusted or pinned thumbprint mismatch."""


class VCenterAuthError(VCenterError):
    """vCenter rejected the credentials."""


class VCenterPermissionDenied(VCenterAuthError):
    """The account is valid but lacks a privilege on the object."""


class VCenterNotFound(VCenterError):
    """A VM, template, datacenter, folder, resource pool or datastore does not exist."""


class VCenterTaskFailed(VCenterError):
    """A vCenter task or call ended with a fault."""


class VCenterAlreadyExists(VCenterTaskFailed):
    """An object with that name already exists (DuplicateName)."""


class VCenterTimeout(VCenterTaskFailed):
    """A task or a wait (guest IP, guest shutdown) did not finish in time."""


# ---------------------------------------------------------------------------------------------------------
# Neutral data


@dataclass(frozen=True)
class VMInfo:
    """A VM or template as vCenter reports it."""

    name: str
    moref: str
    power_state: str  # poweredOn | poweredOff | suspended
    is_template: bool
    path: str  # inventory path, e.g. /DC0/vm/web/web-01
    datastores: tuple[str, ...]
    ip_address: str  # guest.ipAddress: the primary address VMware Tools reports ("" when none)
    guest_ips: tuple[str, ...]  # every address on every NIC, link-local ones left out
    guest_hostname: str = ""
    tools_running: bool = False
    instance_uuid: str = ""

    @property
    def datastore(self) -> str:
        return self.datastores[0] if self.datastores else ""

    @property
    def folder_path(self) -> str:
        return self.path.rsplit("/", 1)[0]

    @property
    def powered_on(self) -> bool:
        return self.power_state == POWERED_ON


@dataclass(frozen=True)
class NetworkCustomization:
    """A fixed IPv4 configuration for vSphere guest customization (LinuxPrep)."""

    ip: str
    netmask: str
    gateway: str
    dns_servers: tuple[str, ...] = ()
    hostname: str = ""  # default: the VM name
    domain: str = ""  # default: IXNODE_VCENTER_GUEST_DOMAIN

    @classmethod
    def from_subnet(
        cls, *, ip: str, subnet_cidr: str, gateway: str, dns_servers: Iterable[str] = (), hostname: str = ""
    ) -> NetworkCustomization:
        network = ipaddress.ip_network(subnet_cidr, strict=False)
        return cls(
            ip=ip,
            netmask=str(network.netmask),
            gateway=gateway,
            dns_servers=tuple(dns_servers),
            hostname=hostname,
        )


@dataclass(frozen=True)
class ShutdownResult:
    """How a VM was stopped: "guest" (clean shutdown), "power_off" (fallback or forced) or "already_off"."""

    method: str
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class ServerAbout:
    """What vCenter says about itself (a cheap connectivity check)."""

    name: str  # full product name, e.g. "VMware vCenter Server 8.0.2 build-…"
    version: str
    api_type: str  # VirtualCenter | HostAgent


# ---------------------------------------------------------------------------------------------------------
# The port


class VCenter(Protocol):
    """The vCenter operations the product uses. Every method raises only :class:`VCenterError` subclasses.

    ``vm`` arguments take a VM's name or the :class:`VMInfo` read before; ``timeout`` ``None`` means the
    configured default (IXNODE_VCENTER_TASK_TIMEOUT, IXNODE_VCENTER_SHUTDOWN_TIMEOUT, IXNODE_VCENTER_GUEST_IP_TIMEOUT).
    """

    def about(self) -> ServerAbout: ...

    def vms_list(self, *, folder: str | None = None, templates: bool | None = None) -> list[VMInfo]:
        """Every VM and template of the datacenter (optionally below ``folder``; only templates or only VMs)."""
        ...

    def templates_list(self) -> list[VMInfo]: ...

    def vm_find(self, name: str) -> VMInfo | None:
        """The VM or template called ``name``, or None."""
        ...

    def vm_get(self, name: str) -> VMInfo:
        """The VM or template called ``name``; :class:`VCenterNotFound` when there is none."""
        ...

    def vm_clone(
        self,
        *,
        source: str | VMInfo,
        name: str,
        customization: NetworkCustomization | None = None,
        power_on: bool = True,
        template: bool = False,
        folder: str | None = None,
        resource_pool: str | None = None,
        datastore: str | None = None,
        timeout: float | None = None,
    ) -> VMInfo:
        """Clone ``source`` into ``name``; optionally customize its network, power it on, or mark it a template."""
        ...

    def vm_clone_to_template(
        self, *, source: str | VMInfo, name: str, folder: str | None = None, datastore: str | None = None,
        timeout: float | None = None,
    ) -> VMInfo:
        """Make template ``name`` from VM ``source``; the source VM keeps running."""
        ...

    def vm_power_on(self, vm: str | VMInfo, *, timeout: float | None = None) -> VMInfo: ...

    def vm_power_off(self, vm: str | VMInfo, *, timeout: float | None = None) -> VMInfo: ...

    def vm_shutdown(
        self, vm: str | VMInfo, *, timeout: float | None = None, poll_interval: float | None = None
    ) -> ShutdownResult:
        """Guest shutdown; power off when the guest has not stopped after ``timeout`` or cannot be asked."""
        ...

    def vm_destroy(self, vm: str | VMInfo, *, timeout: float | None = None) -> bool:
        """Power off (if needed) and delete the VM from disk; False when it did not exist."""
        ...

    def vm_wait_for_ip(
        self, vm: str | VMInfo, *, expected: str | None = None, timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> VMInfo:
        """Wait until VMware Tools report a guest IP (``expected`` when given); the refreshed VM."""
        ...
