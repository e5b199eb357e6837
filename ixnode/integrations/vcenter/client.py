"""vCenter client on pyVmomi: list/find VMs, clone (from a template, or to a template), power, guest shutdown,
destroy, guest IP. It implements :class:`~ixnode.integrations.vcenter.interface.VCenter`: neutral dataclasses out,
the interface's exceptions for every vSphere fault.

``vcenter_client()`` is the one way to build it. Connection settings come from ``VCENTER_*`` (see README,
"vSphere, templates, …"). One logged-in session per vCenter/user is kept per process and reused by every client;
an expired session is re-established once, transparently.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from django.conf import settings
from pyVim.connect import SmartConnect
from pyVmomi import vim, vmodl

from ixnode.integrations.vcenter.interface import (
    POWERED_OFF,
    POWERED_ON,
    NetworkCustomization,
    ServerAbout,
    ShutdownResult,
    VCenter,
    VCenterAlreadyExists,
    VCenterAuthError,
    VCenterConfigError,
    VCenterError,
    VCenterNotFound,
    VCenterPermissionDenied,
    VCenterTaskFailed,
    VCenterTimeout,
    VCenterTLSError,
    VCenterUnavailable,
    VMInfo,
)

__all__ = [
    "VCenterClient",
    "VCenterSettings",
    "vcenter_client",
    "vcenter_sessions_close",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

HOSTNAME_RE = re.compile(r"[^A-Za-z0-9-]+")


# ---------------------------------------------------------------------------------------------------------
# Settings

#: One logged-in session per (host, port, user, password, TLS settings, request timeout). The timeout is part of
#: the key because pyVmomi fixes it when the session connects: a decision's short-timeout client must not reuse a
#: pipeline's session (and wait its 30 s), nor a pipeline inherit the decision's 5 s.
SessionKey = tuple[str, int, str, str, bool, str, str, float]


@dataclass(frozen=True)
class VCenterSettings:
    """Where vCenter is and how to trust and log in to it, plus the placement of new VMs."""

    host: str
    user: str
    password: str = field(repr=False)
    port: int = 443
    verify_tls: bool = True
    thumbprint: str = ""  # pinned SHA-1/SHA-256 certificate thumbprint (colons optional)
    ca_file: str = ""  # CA bundle to verify vCenter's certificate with (default: the system's)
    datacenter: str = ""
    folder: str = ""  # VM folder, relative to the datacenter's VM folder (or a full inventory path)
    resource_pool: str = ""  # relative to the datacenter's host folder: "Cluster" or "Cluster/Resources/Pool"
    datastore: str = ""
    timeout: float = 30.0  # per HTTP request
    task_timeout: float = 900.0
    shutdown_timeout: float = 120.0
    guest_ip_timeout: float = 600.0
    guest_domain: str = "localdomain"
    poll_interval: float = 0.5

    @classmethod
    def from_django(cls) -> VCenterSettings:
        """The VCENTER_* settings."""
        return cls(
            host=str(getattr(settings, "IXNODE_VCENTER_HOST", "")),
            port=int(getattr(settings, "IXNODE_VCENTER_PORT", 443)),
            user=str(getattr(settings, "IXNODE_VCENTER_USER", "")),
            password=str(getattr(settings, "IXNODE_VCENTER_PASSWORD", "")),
            verify_tls=bool(getattr(settings, "IXNODE_VCENTER_VERIFY_TLS", True)),
            thumbprint=str(getattr(settings, "IXNODE_VCENTER_THUMBPRINT", "")),
            ca_file=str(getattr(settings, "IXNODE_VCENTER_CA_FILE", "")),
            datacenter=str(getattr(settings, "IXNODE_VCENTER_DATACENTER", "")),
            folder=str(getattr(settings, "IXNODE_VCENTER_FOLDER", "")),
            resource_pool=str(getattr(settings, "IXNODE_VCENTER_RESOURCE_POOL", "")),
            datastore=str(getattr(settings, "IXNODE_VCENTER_DATASTORE", "")),
            timeout=float(getattr(settings, "IXNODE_VCENTER_TIMEOUT", 30.0)),
            task_timeout=float(getattr(settings, "IXNODE_VCENTER_TASK_TIMEOUT", 900.0)),
            shutdown_timeout=float(getattr(settings, "IXNODE_VCENTER_SHUTDOWN_TIMEOUT", 120.0)),
            guest_ip_timeout=float(getattr(settings, "IXNODE_VCENTER_GUEST_IP_TIMEOUT", 600.0)),
            guest_domain=str(getattr(settings, "IXNODE_VCENTER_GUEST_DOMAIN", "localdomain")),
            poll_interval=float(getattr(settings, "IXNODE_VCENTER_POLL_INTERVAL", 0.5)),
        )

    def validate(self) -> None:
        missing = [name for name in ("host", "user", "password") if not getattr(self, name)]
        if missing:
            names = ", ".join(f"IXNODE_VCENTER_{name.upper()}" for name in missing)
            raise VCenterConfigError(f"vCenter is not configured: set {names}.")

    @property
    def session_key(self) -> SessionKey:
        return (
            self.host, self.port, self.user, self.password, self.verify_tls, self.thumbprint, self.ca_file, self.timeout
        )


# ---------------------------------------------------------------------------------------------------------
# TLS with a pinned certificate


class _ThumbprintMismatch(ssl.SSLError):
    pass


class PinnedCertificateContext(ssl.SSLContext):
    """A TLS context that accepts exactly the certificate with the pinned SHA-1/256/512 thumbprint.

    The check runs on every connection pyVmomi opens (version discovery and SOAP calls alike), so a replaced
    certificate is refused at once, whether or not it chains to a trusted CA.
    """

    pinned: str = ""
    algorithm: str = "sha1"

    @classmethod
    def create(cls, thumbprint: str) -> PinnedCertificateContext:
        pinned = thumbprint.replace(":", "").replace(" ", "").lower()
        algorithms = {40: "sha1", 64: "sha256", 128: "sha512"}
        if len(pinned) not in algorithms or not re.fullmatch(r"[0-9a-f]+", pinned):
            raise VCenterConfigError(
                "IXNODE_VCENTER_THUMBPRINT must be the SHA-1 (40 hex digits), SHA-256 (64) or SHA-512 (128) thumbprint "
                "of vCenter's certificate, colons allowed."
            )
        context = cls(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.pinned = pinned
        context.algorithm = algorithms[len(pinned)]
        return context

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        sock = super().wrap_socket(*args, **kwargs)
        der = sock.getpeercert(binary_form=True)
        actual = hashlib.new(self.algorithm, der or b"").hexdigest()
        if actual != self.pinned:
            sock.close()
            raise _ThumbprintMismatch(f"expected {self.algorithm} {self.pinned}, got {actual}")
        return sock


# ---------------------------------------------------------------------------------------------------------
# Sessions

_sessions: dict[SessionKey, Any] = {}
_sessions_lock = threading.Lock()


def vcenter_sessions_close() -> None:
    """Log out every cached session (tests, shutdown)."""
    with _sessions_lock:
        items = list(_sessions.values())
        _sessions.clear()
    for si in items:
        with contextlib.suppress(Exception):  # best effort: the session may be gone already
            si.content.sessionManager.Logout()


def vcenter_client(*, timeout: float | None = None) -> VCenter:
    """The vCenter configured by the VCENTER_* settings, sharing the process's vCenter session: the one way the
    product builds a vCenter client. ``timeout`` overrides IXNODE_VCENTER_TIMEOUT (seconds per request), e.g. for a
    decision that must not wait long; it is part of the session key, so such a client logs in on its own.
    ``VCenterConfigError`` when IXNODE_VCENTER_HOST, IXNODE_VCENTER_USER or IXNODE_VCENTER_PASSWORD is missing."""
    config = VCenterSettings.from_django()
    if timeout is not None:
        config = replace(config, timeout=timeout)
    return VCenterClient(config)


# ---------------------------------------------------------------------------------------------------------
# Client


class VCenterClient:
    """The small vCenter interface the product needs. All methods raise only ``VCenterError`` subclasses."""

    def __init__(self, settings: VCenterSettings) -> None:
        settings.validate()
        self.settings = settings

    def with_settings(self, **changes: Any) -> VCenterClient:
        return VCenterClient(replace(self.settings, **changes))

    # --- connection --------------------------------------------------------------------------------
    @property
    def _where(self) -> str:
        return f"vCenter {self.settings.host}:{self.settings.port}"

    def _ssl_context(self) -> ssl.SSLContext:
        s = self.settings
        if s.thumbprint:
            return PinnedCertificateContext.create(s.thumbprint)
        if s.verify_tls:
            return ssl.create_default_context(cafile=s.ca_file or None)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> Any:
        s = self.settings
        if not s.verify_tls and not s.thumbprint:
            logger.warning("%s: TLS certificate verification is off (IXNODE_VCENTER_VERIFY_TLS=0)", self._where)
        try:
            return SmartConnect(
                host=s.host,
                port=s.port,
                user=s.user,
                pwd=s.password,
                sslContext=self._ssl_context(),
                httpConnectionTimeout=s.timeout,
                disableSslCertValidation=False,
            )
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._translate(exc, "log in") from exc

    def _si(self, *, fresh: bool = False) -> Any:
        key = self.settings.session_key
        with _sessions_lock:
            si = None if fresh else _sessions.get(key)
            if si is None:
                si = self._connect()
                _sessions[key] = si
            return si

    def _call(self, action: str, func: Callable[[Any], T]) -> T:
        """Run ``func(service_instance)``; re-login once on an expired session; translate every fault."""
        try:
            try:
                return func(self._si())
            except vim.fault.NotAuthenticated:
                logger.info("%s: session expired, logging in again", self._where)
                return func(self._si(fresh=True))
        except VCenterError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated below
            raise self._translate(exc, action) from exc

    def _translate(self, exc: BaseException, action: str) -> VCenterError:
        where = self._where
        fault = type(exc).__name__.rsplit(".", 1)[-1]
        msg = getattr(exc, "msg", "") or str(exc) or fault
        if isinstance(exc, VCenterError):
            return exc
        if isinstance(exc, _ThumbprintMismatch):
            return VCenterTLSError(
                f"{where}: the server's certificate does not match the pinned thumbprint ({msg}). "
                "If vCenter's certificate was replaced on purpose, update IXNODE_VCENTER_THUMBPRINT.",
                fault=fault,
            )
        if isinstance(exc, ssl.SSLCertVerificationError):
            return VCenterTLSError(
                f"{where}: the TLS certificate is not trusted ({exc.verify_message}). Install vCenter's CA "
                "and point IXNODE_VCENTER_CA_FILE at it, or pin the certificate with IXNODE_VCENTER_THUMBPRINT.",
                fault=fault,
            )
        if isinstance(exc, ssl.SSLError):
            return VCenterTLSError(f"{where}: TLS handshake failed while trying to {action}: {exc}.", fault=fault)
        if isinstance(exc, vim.fault.InvalidLogin):
            return VCenterAuthError(
                f"{where} rejected the login of '{self.settings.user}': check IXNODE_VCENTER_USER and "
                f"IXNODE_VCENTER_PASSWORD "
                "(and that the account is not locked).",
                fault=fault,
            )
        if isinstance(exc, vim.fault.NoPermission):
            privilege = getattr(exc, "privilegeId", "") or "a required privilege"
            obj = getattr(exc, "object", None)
            target = f" on {obj._moId}" if obj is not None and hasattr(obj, "_moId") else ""
            return VCenterPermissionDenied(
                f"{where}: '{self.settings.user}' lacks {privilege}{target} needed to {action}; grant it to the "
                "account's role.",
                fault=fault,
            )
        if isinstance(exc, vmodl.fault.ManagedObjectNotFound):
            return VCenterNotFound(f"{where}: the object to {action} no longer exists ({msg}).", fault=fault)
        if isinstance(exc, vim.fault.DuplicateName):
            name = getattr(exc, "name", "") or msg
            return VCenterAlreadyExists(
                f"{where}: cannot {action}: an object named '{name}' already exists in that folder.", fault=fault
            )
        if isinstance(exc, vim.fault.InsufficientResourcesFault | vim.fault.NoDiskSpace):
            return VCenterTaskFailed(
                f"{where}: cannot {action}: not enough capacity ({fault}: {msg}). Free CPU/memory/disk in the "
                "cluster or datastore, or point IXNODE_VCENTER_RESOURCE_POOL / IXNODE_VCENTER_DATASTORE elsewhere.",
                fault=fault,
            )
        if isinstance(exc, vim.fault.InvalidPowerState):
            return VCenterTaskFailed(
                f"{where}: cannot {action}: the VM is {getattr(exc, 'existingState', 'in the wrong power state')}.",
                fault=fault,
            )
        if isinstance(exc, vmodl.MethodFault):
            return VCenterTaskFailed(f"{where}: {action} failed: {fault}: {msg}", fault=fault)
        if isinstance(exc, ConnectionRefusedError):
            return VCenterUnavailable(
                f"{where} refused the connection while trying to {action}: check "
                f"IXNODE_VCENTER_HOST/IXNODE_VCENTER_PORT and "
                "that the vCenter service is running.",
                fault=fault,
            )
        if isinstance(exc, TimeoutError | socket.timeout):
            return VCenterUnavailable(
                f"{where} did not answer within {self.settings.timeout:g}s while trying to {action} "
                "(IXNODE_VCENTER_TIMEOUT): check the network path and vCenter's load.",
                fault=fault,
            )
        if isinstance(exc, socket.gaierror):
            return VCenterUnavailable(f"{where}: cannot resolve the host name ({exc}); check IXNODE_VCENTER_HOST.")
        if isinstance(exc, OSError | http.client.HTTPException):
            return VCenterUnavailable(f"{where} is unreachable while trying to {action}: {exc}.", fault=fault)
        return VCenterError(f"{where}: {action} failed: {fault}: {msg}", fault=fault)

    def close(self) -> None:
        """Log out this client's session (other clients with the same settings log in again on next use)."""
        key = self.settings.session_key
        with _sessions_lock:
            si = _sessions.pop(key, None)
        if si is not None:
            with contextlib.suppress(Exception):  # best effort
                si.content.sessionManager.Logout()

    def about(self) -> ServerAbout:
        """Product name, version and API type of the server (a cheap connectivity check)."""
        about = self._call("read the server version", lambda si: si.content.about)
        return ServerAbout(name=str(about.fullName), version=str(about.version), api_type=str(about.apiType))

    # --- inventory ---------------------------------------------------------------------------------
    def _datacenter(self, si: Any) -> Any:
        datacenters = [e for e in si.content.rootFolder.childEntity if isinstance(e, vim.Datacenter)]
        wanted = self.settings.datacenter
        if wanted:
            for dc in datacenters:
                if dc.name == wanted:
                    return dc
            names = ", ".join(sorted(dc.name for dc in datacenters)) or "none"
            raise VCenterNotFound(
                f"{self._where}: datacenter '{wanted}' not found (IXNODE_VCENTER_DATACENTER); available: {names}."
            )
        if len(datacenters) == 1:
            return datacenters[0]
        names = ", ".join(sorted(dc.name for dc in datacenters)) or "none"
        raise VCenterConfigError(f"{self._where}: set IXNODE_VCENTER_DATACENTER to one of: {names}.")

    def _find_by_path(self, si: Any, path: str) -> Any:
        return si.content.searchIndex.FindByInventoryPath(path)

    def _folder(self, si: Any, dc: Any, folder: str) -> Any:
        path = folder if folder.startswith("/") else f"{dc.name}/vm/{folder}"
        obj = self._find_by_path(si, path.lstrip("/"))
        if not isinstance(obj, vim.Folder):
            raise VCenterNotFound(
                f"{self._where}: VM folder '{folder}' not found in datacenter '{dc.name}': create it or fix "
                "IXNODE_VCENTER_FOLDER."
            )
        return obj

    def _resource_pool(self, si: Any, dc: Any, pool: str) -> Any:
        path = pool if pool.startswith("/") else f"{dc.name}/host/{pool}"
        obj = self._find_by_path(si, path.lstrip("/"))
        if isinstance(obj, vim.ComputeResource):
            obj = obj.resourcePool
        if not isinstance(obj, vim.ResourcePool):
            raise VCenterNotFound(
                f"{self._where}: resource pool '{pool}' not found in datacenter '{dc.name}' "
                "(IXNODE_VCENTER_RESOURCE_POOL: a cluster/host name or Cluster/Resources/Pool)."
            )
        return obj

    def _datastore(self, dc: Any, name: str) -> Any:
        for ds in dc.datastore:
            if ds.name == name:
                return ds
        names = ", ".join(sorted(ds.name for ds in dc.datastore)) or "none"
        raise VCenterNotFound(
            f"{self._where}: datastore '{name}' not found in datacenter '{dc.name}' (IXNODE_VCENTER_DATASTORE); "
            f"available: {names}."
        )

    def _retrieve(self, si: Any, root: Any, specs: dict[type, list[str]]) -> list[Any]:
        content = si.content
        view = content.viewManager.CreateContainerView(root, list(specs), True)
        try:
            traversal = vmodl.query.PropertyCollector.TraversalSpec(
                name="view", path="view", skip=False, type=vim.view.ContainerView
            )
            obj_spec = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])
            prop_specs = [
                vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=paths, all=False)
                for kind, paths in specs.items()
            ]
            filter_spec = vmodl.query.PropertyCollector.FilterSpec(objectSet=[obj_spec], propSet=prop_specs)
            collector = content.propertyCollector
            result = collector.RetrievePropertiesEx([filter_spec], vmodl.query.PropertyCollector.RetrieveOptions())
            objects = []
            while result is not None:
                objects.extend(result.objects)
                if not result.token:
                    break
                result = collector.ContinueRetrievePropertiesEx(result.token)
            return objects
        finally:
            view.Destroy()

    def _list(self, si: Any) -> list[VMInfo]:
        dc = self._datacenter(si)
        objects = self._retrieve(
            si,
            dc,
            {
                vim.VirtualMachine: [
                    "name",
                    "parent",
                    "runtime.powerState",
                    "config.template",
                    "config.instanceUuid",
                    "datastore",
                    "guest.ipAddress",
                    "guest.net",
                    "guest.hostName",
                    "guest.toolsRunningStatus",
                ],
                vim.Folder: ["name", "parent"],
                vim.Datastore: ["name"],
            },
        )
        names: dict[str, str] = {dc._moId: dc.name}
        parents: dict[str, str | None] = {dc._moId: None}
        vms = []
        for obj in objects:
            props = {p.name: p.val for p in obj.propSet}
            names[obj.obj._moId] = props.get("name", "")
            parent = props.get("parent")
            parents[obj.obj._moId] = parent._moId if parent is not None else None
            if isinstance(obj.obj, vim.VirtualMachine):
                vms.append((obj.obj, props))

        def path_of(moid: str | None) -> str:
            parts = []
            seen = set()
            while moid is not None and moid in names and moid not in seen:
                seen.add(moid)
                parts.append(names[moid])
                moid = parents.get(moid)
            return "/" + "/".join(reversed(parts))

        infos = []
        for obj, props in vms:
            ips: list[str] = []
            for nic in props.get("guest.net") or []:
                for address in nic.ipAddress or []:
                    if _usable_ip(address) and address not in ips:
                        ips.append(address)
            primary = props.get("guest.ipAddress") or ""
            if primary and primary not in ips and _usable_ip(primary):
                ips.insert(0, primary)
            parent = props.get("parent")
            infos.append(
                VMInfo(
                    name=props.get("name", ""),
                    moref=obj._moId,
                    power_state=str(props.get("runtime.powerState") or ""),
                    is_template=bool(props.get("config.template")),
                    path=path_of(parent._moId if parent is not None else None) + "/" + props.get("name", ""),
                    datastores=tuple(names.get(ds._moId, ds._moId) for ds in props.get("datastore") or []),
                    ip_address=primary,
                    guest_ips=tuple(ips),
                    guest_hostname=props.get("guest.hostName") or "",
                    tools_running=props.get("guest.toolsRunningStatus") == "guestToolsRunning",
                    instance_uuid=props.get("config.instanceUuid") or "",
                )
            )
        infos.sort(key=lambda info: info.path)
        return infos

    def vms_list(self, *, folder: str | None = None, templates: bool | None = None) -> list[VMInfo]:
        """Every VM and template of the datacenter (optionally below ``folder``; only templates or only VMs)."""
        infos = self._call("list VMs", self._list)
        if folder:
            prefix = folder.rstrip("/")
            if not prefix.startswith("/"):
                dc = self.settings.datacenter or (infos[0].path.split("/")[1] if infos else "")
                prefix = f"/{dc}/vm/{prefix}"
            infos = [info for info in infos if info.path.startswith(prefix + "/")]
        if templates is not None:
            infos = [info for info in infos if info.is_template == templates]
        return infos

    def templates_list(self) -> list[VMInfo]:
        return self.vms_list(templates=True)

    def vm_find(self, name: str) -> VMInfo | None:
        """The VM or template called ``name`` (in IXNODE_VCENTER_FOLDER when several share it), or None."""
        matches = [info for info in self.vms_list() if info.name == name]
        if len(matches) > 1 and self.settings.folder:
            in_folder = [m for m in matches if m in self.vms_list(folder=self.settings.folder)]
            matches = in_folder or matches
        if len(matches) > 1:
            paths = ", ".join(m.path for m in matches)
            raise VCenterError(f"{self._where}: several VMs are named '{name}' ({paths}); set IXNODE_VCENTER_FOLDER.")
        return matches[0] if matches else None

    def vm_get(self, name: str) -> VMInfo:
        info = self.vm_find(name)
        if info is None:
            raise VCenterNotFound(f"{self._where}: no VM or template named '{name}' in the datacenter.")
        return info

    def _info(self, vm: str | VMInfo) -> VMInfo:
        return vm if isinstance(vm, VMInfo) else self.vm_get(vm)

    def _refresh(self, vm: str | VMInfo) -> VMInfo:
        name = vm.name if isinstance(vm, VMInfo) else vm
        return self.vm_get(name)

    @staticmethod
    def _mo(si: Any, info: VMInfo) -> Any:
        return vim.VirtualMachine(info.moref, si._stub)

    # --- tasks -------------------------------------------------------------------------------------
    def _wait(self, si: Any, task: Any, *, action: str, timeout: float | None) -> Any:
        """Wait for a vCenter task; return its result or raise its fault (translated by ``_call``)."""
        limit = self.settings.task_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        delay = 0.05
        while True:
            info = task.info
            if info.state == vim.TaskInfo.State.success:
                return info.result
            if info.state == vim.TaskInfo.State.error:
                error = info.error
                if isinstance(error, BaseException):
                    raise error
                raise vmodl.MethodFault(msg=getattr(error, "localizedMessage", "task failed"))
            if time.monotonic() >= deadline:
                raise VCenterTimeout(
                    f"{self._where}: {action} did not finish within {limit:g}s (task {task._moId}, state "
                    f"{info.state}); it may still complete in vCenter — check the task there "
                    "(IXNODE_VCENTER_TASK_TIMEOUT).",
                    fault="Timeout",
                )
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, self.settings.poll_interval)

    # --- operations --------------------------------------------------------------------------------
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
        """Clone ``source`` (a template or VM) into ``name``; optionally customize its network and power it on.

        With ``template=True`` the clone is marked as a template (the source keeps running).
        """
        src = self._info(source)
        action = f"clone '{src.name}' to '{name}'"

        def run(si: Any) -> None:
            dc = self._datacenter(si)
            src_mo = self._mo(si, src)
            folder_name = folder if folder is not None else self.settings.folder
            dest_folder = self._folder(si, dc, folder_name) if folder_name else src_mo.parent
            relocate = vim.vm.RelocateSpec()
            pool_name = resource_pool if resource_pool is not None else self.settings.resource_pool
            if pool_name:
                relocate.pool = self._resource_pool(si, dc, pool_name)
            elif not template:
                relocate.pool = src_mo.resourcePool or src_mo.runtime.host.parent.resourcePool
            ds_name = datastore if datastore is not None else self.settings.datastore
            if ds_name:
                relocate.datastore = self._datastore(dc, ds_name)
            spec = vim.vm.CloneSpec(location=relocate, template=template, powerOn=bool(power_on and not template))
            if customization is not None:
                if template:
                    raise VCenterConfigError("guest customization does not apply to a clone to template")
                nics = [
                    d for d in src_mo.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)
                ]
                spec.customization = self._customization_spec(name, customization, len(nics))
            task = src_mo.CloneVM_Task(folder=dest_folder, name=name, spec=spec)
            self._wait(si, task, action=action, timeout=timeout)

        self._call(action, run)
        return self.vm_get(name)

    def _customization_spec(self, vm_name: str, net: NetworkCustomization, nic_count: int) -> Any:
        if nic_count < 1:
            raise VCenterConfigError(
                f"{self._where}: the template has no network adapter to put {net.ip} on; add one to the template."
            )
        hostname = HOSTNAME_RE.sub("-", net.hostname or vm_name).strip("-")[:63] or "vm"
        custom = vim.vm.customization
        fixed = custom.AdapterMapping(
            adapter=custom.IPSettings(
                ip=custom.FixedIp(ipAddress=net.ip),
                subnetMask=net.netmask,
                gateway=[net.gateway] if net.gateway else [],
                dnsServerList=list(net.dns_servers),
            )
        )
        others = [custom.AdapterMapping(adapter=custom.IPSettings(ip=custom.DhcpIpGenerator())) for _ in
                  range(nic_count - 1)]
        return custom.Specification(
            identity=custom.LinuxPrep(
                hostName=custom.FixedName(name=hostname),
                domain=net.domain or self.settings.guest_domain,
                hwClockUTC=True,
            ),
            globalIPSettings=custom.GlobalIPSettings(dnsServerList=list(net.dns_servers)),
            nicSettingMap=[fixed, *others],
        )

    def vm_clone_to_template(
        self, *, source: str | VMInfo, name: str, folder: str | None = None, datastore: str | None = None,
        timeout: float | None = None,
    ) -> VMInfo:
        """Make template ``name`` from VM ``source``; the source VM keeps running."""
        return self.vm_clone(
            source=source, name=name, template=True, power_on=False, folder=folder, datastore=datastore,
            timeout=timeout,
        )

    def vm_power_on(self, vm: str | VMInfo, *, timeout: float | None = None) -> VMInfo:
        info = self._refresh(vm)
        if info.is_template:
            raise VCenterTaskFailed(f"{self._where}: '{info.name}' is a template and cannot be powered on.")
        if info.power_state != POWERED_ON:
            self._call(
                f"power on '{info.name}'",
                lambda si: self._wait(si, self._mo(si, info).PowerOnVM_Task(), action="power on", timeout=timeout),
            )
        return self._refresh(info)

    def vm_power_off(self, vm: str | VMInfo, *, timeout: float | None = None) -> VMInfo:
        info = self._refresh(vm)
        if info.power_state != POWERED_OFF:
            self._call(
                f"power off '{info.name}'",
                lambda si: self._wait(si, self._mo(si, info).PowerOffVM_Task(), action="power off", timeout=timeout),
            )
        return self._refresh(info)

    def vm_shutdown(
        self, vm: str | VMInfo, *, timeout: float | None = None, poll_interval: float | None = None
    ) -> ShutdownResult:
        """Ask the guest OS to shut down; power off when it has not stopped after ``timeout`` seconds
        (IXNODE_VCENTER_SHUTDOWN_TIMEOUT) or cannot be asked (no VMware Tools)."""
        started = time.monotonic()
        info = self._refresh(vm)
        if info.power_state == POWERED_OFF:
            return ShutdownResult("already_off", 0.0)
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        interval = self.settings.poll_interval if poll_interval is None else poll_interval
        try:
            self._call(f"shut down the guest of '{info.name}'", lambda si: self._mo(si, info).ShutdownGuest())
        except (VCenterTaskFailed, VCenterNotFound) as exc:
            if isinstance(exc, VCenterNotFound):
                raise
            self.vm_power_off(info)
            return ShutdownResult("power_off", time.monotonic() - started, f"guest shutdown refused: {exc.message}")
        deadline = started + limit
        while time.monotonic() < deadline:
            state = self._call(
                f"read the power state of '{info.name}'", lambda si: self._mo(si, info).runtime.powerState
            )
            if state == POWERED_OFF:
                return ShutdownResult("guest", time.monotonic() - started)
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        self.vm_power_off(info)
        return ShutdownResult(
            "power_off", time.monotonic() - started, f"guest still running after {limit:g}s, powered off"
        )

    def vm_destroy(self, vm: str | VMInfo, *, timeout: float | None = None) -> bool:
        """Power off (if needed) and delete the VM from disk. False when it did not exist (idempotent)."""
        name = vm.name if isinstance(vm, VMInfo) else vm
        info = self.vm_find(name)
        if info is None:
            return False
        if info.power_state != POWERED_OFF and not info.is_template:
            info = self.vm_power_off(info, timeout=timeout)
        try:
            self._call(
                f"destroy '{info.name}'",
                lambda si: self._wait(si, self._mo(si, info).Destroy_Task(), action="destroy", timeout=timeout),
            )
        except VCenterNotFound:
            return False
        return True

    def vm_wait_for_ip(
        self, vm: str | VMInfo, *, expected: str | None = None, timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> VMInfo:
        """Wait until VMware Tools report a guest IP (``expected`` when given); return the refreshed VM."""
        limit = self.settings.guest_ip_timeout if timeout is None else timeout
        interval = self.settings.poll_interval if poll_interval is None else poll_interval
        deadline = time.monotonic() + limit
        info = self._refresh(vm)
        while True:
            if expected is None and info.ip_address:
                return info
            if expected is not None and expected in (info.ip_address, *info.guest_ips):
                return info
            if time.monotonic() >= deadline:
                seen = ", ".join(info.guest_ips) or "none"
                wanted = expected or "any address"
                raise VCenterTimeout(
                    f"{self._where}: '{info.name}' did not report {wanted} within {limit:g}s (reported: {seen}). "
                    "Check that VMware Tools run in the guest and that its network came up.",
                    fault="Timeout",
                )
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            info = self._refresh(info)


def _usable_ip(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return not (ip.is_link_local or ip.is_unspecified)
