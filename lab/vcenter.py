"""vcsim for the lab: started as the tests start it (tests/vcsim, built by scripts/install-test-deps.sh), its
control endpoint (what VMware Tools in a guest would report), and a watcher of its VMs through the vSphere API.

The watcher is how cloned VMs come alive: every ``watch_interval`` it reads each VM's power state and the
address VMware Tools report (one PropertyCollector call over a container view), and hands the list to the
fleet, which starts a VM's services when it is powered on with an address in the lab's subnet, moves them when
the address changes and stops them when the VM is powered off or destroyed. vcsim itself stays unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from lab.config import ROOT, LabConfig
from lab.i18n import _
from lab.procs import LabError, Process, free_port

VCSIM_BIN = ROOT / "tests" / "vcsim" / "bin" / "vcsim"


@dataclass(frozen=True)
class VmState:
    name: str
    powered_on: bool
    ip: str
    template: bool


class Vcsim:
    """The simulator process and its endpoints."""

    def __init__(self, lab: LabConfig) -> None:
        self.lab = lab
        self.user = "ixnode-lab@vsphere.local"
        self.password = secrets.token_urlsafe(16)
        self.dir = lab.var / "vcsim"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert = self.dir / "cert.pem"
        self.process: Process | None = None
        self.port = 0
        self.thumbprint = ""

    def start(self) -> None:
        if not VCSIM_BIN.exists():
            raise LabError(_("%(path)s is missing: run scripts/install-test-deps.sh --lab (make lab does)")
                           % {"path": VCSIM_BIN})
        self.port = free_port()
        t = self.lab.timings
        argv = [
            str(VCSIM_BIN), "-listen", f"127.0.0.1:{self.port}", "-cert-out", str(self.cert),
            "-templates", self.lab.template, "-clone-delay", t.clone_delay, "-shutdown-delay", t.shutdown_delay,
            "-bootstrap-ips", ",".join(self.lab.bootstrap_addresses),
        ]
        env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(self.dir), "VCSIM_USER": self.user,
               "VCSIM_PASSWORD": self.password}
        banner = self.dir / "banner.json"
        with banner.open("wb") as out:
            self.process = Process("vcsim", argv, log=self.lab.var / "logs" / "vcsim.log", env=env, cwd=self.dir,
                                   stdout=out.fileno())
        self.process.wait_until(lambda: banner.stat().st_size > 0 and banner.read_bytes().endswith(b"\n"),
                                timeout=30, what=_("printed no banner"))
        info = json.loads(banner.read_text())
        self.thumbprint = info["thumbprint_sha1"]

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def product_env(self) -> dict[str, str]:
        return {
            "IXNODE_VCENTER_HOST": "127.0.0.1",
            "IXNODE_VCENTER_PORT": str(self.port),
            "IXNODE_VCENTER_USER": self.user,
            "IXNODE_VCENTER_PASSWORD": self.password,
            "IXNODE_VCENTER_THUMBPRINT": self.thumbprint,
            "IXNODE_VCENTER_VERIFY_TLS": "1",
            "IXNODE_VCENTER_DATACENTER": "DC0",
            "IXNODE_VCENTER_RESOURCE_POOL": "DC0_C0/Resources",
            "IXNODE_VCENTER_DATASTORE": "LocalDS_0",
            "IXNODE_VCENTER_POLL_INTERVAL": "0.2",
            "IXNODE_VCENTER_GUEST_IP_TIMEOUT": "60",
        }

    # --- the control endpoint: what VMware Tools in a guest report ---------------------------------------

    def _control(self, path: str, payload: dict) -> dict:
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.port}/ixnode-test/{path}", data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(
                f"{self.user}:{self.password}".encode()).decode()},
        )
        context = ssl.create_default_context(cafile=str(self.cert))
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def guest_ip_report(self, vm: str, ip: str) -> None:
        """The guest's VMware Tools now report ``ip`` (after netplan gave it its pool address)."""
        self._control("guest-ip", {"vm": vm, "ip": ip})

    # --- the vSphere API ---------------------------------------------------------------------------------

    def connect(self) -> Any:
        context = ssl.create_default_context(cafile=str(self.cert))
        return SmartConnect(host="127.0.0.1", port=self.port, user=self.user, pwd=self.password, sslContext=context)

    def base_vms_create(self) -> None:
        """The service's fixed VMs, as an operator has them: cloned from the template, powered on, fixed IPs."""
        si = self.connect()
        try:
            content = si.RetrieveContent()
            template = content.searchIndex.FindByInventoryPath(f"DC0/vm/{self.lab.template}")
            if template is None:
                raise LabError(f"vcsim has no template {self.lab.template}")
            pool = content.searchIndex.FindByInventoryPath("DC0/host/DC0_C0/Resources")
            for name in self.lab.base_vms:
                spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=pool), powerOn=True, template=False)
                task = template.CloneVM_Task(folder=template.parent, name=name, spec=spec)
                _wait_task(task)
        finally:
            Disconnect(si)
        for name, ip in zip(self.lab.base_vms, self.lab.base_addresses, strict=True):
            self.guest_ip_report(name, ip)


def _wait_task(task: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while task.info.state not in (vim.TaskInfo.State.success, vim.TaskInfo.State.error):
        if time.monotonic() > deadline:
            raise LabError(f"vCenter task {task.info.descriptionId} did not finish within {timeout:g} s")
        time.sleep(0.1)
    if task.info.state == vim.TaskInfo.State.error:
        raise LabError(f"vCenter task failed: {task.info.error.localizedMessage or task.info.error}")


def vm_states(si: Any) -> list[VmState]:
    """Every VM's name, power state, guest address and template flag, in one PropertyCollector call."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        traversal = vmodl.query.PropertyCollector.TraversalSpec(name="view", path="view", skip=False,
                                                                 type=vim.view.ContainerView)
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(
                type=vim.VirtualMachine, pathSet=["name", "runtime.powerState", "guest.ipAddress", "config.template"])],
        )
        states = []
        for obj in content.propertyCollector.RetrieveContents([spec]):
            props = {p.name: p.val for p in obj.propSet}
            states.append(VmState(
                name=props.get("name", ""),
                powered_on=props.get("runtime.powerState") == "poweredOn",
                ip=props.get("guest.ipAddress") or "",
                template=bool(props.get("config.template")),
            ))
        return states
    finally:
        view.Destroy()


class Watcher:
    """Follows vCenter's VMs and calls ``on_states`` with the list after every look (and on ``poke()``)."""

    def __init__(self, vcsim: Vcsim, interval: float, on_states: Callable[[list[VmState]], None],
                 on_error: Callable[[str], None]) -> None:
        self.vcsim = vcsim
        self.interval = interval
        self.on_states = on_states
        self.on_error = on_error
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._lock = threading.Lock()
        self._si: Any = None
        self.thread = threading.Thread(target=self._run, name="lab-vcenter-watcher", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._poke.set()
        self.thread.join(timeout=10)
        if self._si is not None:
            with contextlib.suppress(Exception):  # vcsim may be gone already
                Disconnect(self._si)

    def look(self) -> list[VmState]:
        """Read vCenter now and apply what it says (also used by the netplan hook, which cannot wait)."""
        with self._lock:
            if self._si is None:
                self._si = self.vcsim.connect()
            try:
                states = vm_states(self._si)
            except (vim.fault.NotAuthenticated, vmodl.fault.ManagedObjectNotFound):
                self._si = self.vcsim.connect()
                states = vm_states(self._si)
            self.on_states(states)
            return states

    def poke(self) -> None:
        self._poke.set()

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.look()
                failing = False
            except Exception as exc:  # noqa: BLE001 - keep watching; say it once
                if not failing:
                    self.on_error(f"reading vCenter's VMs failed: {exc.__class__.__name__}: {exc}")
                failing = True
                self._si = None
            self._poke.wait(self.interval)
            self._poke.clear()

