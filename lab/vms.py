"""The service's VMs: for every powered-on VM of the lab's subnet, a small "guest" on its loopback address.

A guest is what the pipeline and the monitoring talk to on a real VM:

- the service on ``app_port``: ``GET /health`` answers 200, any other GET is one request of the service's
  work, which costs CPU (a VM serves ``CAPACITY`` requests per second at 100 %);
- node_exporter's ``/metrics`` on ``exporter_port``: ``node_cpu_seconds_total`` (2 vCPUs, idle and user) and
  ``node_memory_MemTotal_bytes`` / ``node_memory_MemAvailable_bytes`` (memory follows the recent CPU load);
- its own sshd on ``ssh_port``, with the template's host key and the operator's key authorised: the
  pipeline's network stage logs in on the "DHCP" address, writes the netplan file and runs the apply
  command (``lab/netplan_apply.py``), after which the guest moves to its new address.

The fleet starts, moves and stops guests from what vCenter reports (``lab.vcenter.Watcher``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lab.config import CAPACITY, LabConfig
from lab.i18n import _
from lab.procs import Process
from lab.vcenter import VmState

CPUS = 2
MEM_TOTAL = 4 * 1024**3
BASELINE = 0.04  # the OS's own CPU use
BACKLOG_SECONDS = 2.0  # work queued beyond this is dropped (clients time out)


class CpuModel:
    """CPU seconds of a 2-vCPU guest: every request adds work, the guest does at most CPUS seconds per second."""

    def __init__(self) -> None:
        self.idle = 0.0
        self.busy = 0.0
        self.backlog = 0.0
        self.recent = BASELINE  # utilisation smoothed over ~20 s: what memory follows
        self.requests = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def _advance(self) -> None:
        now = time.monotonic()
        dt, self._last = now - self._last, now
        if dt <= 0:
            return
        capacity = dt * CPUS
        demand = self.backlog + BASELINE * capacity
        used = min(capacity, demand)
        self.backlog = min(max(0.0, self.backlog - (used - BASELINE * capacity)), BACKLOG_SECONDS * CPUS)
        self.busy += used
        self.idle += capacity - used
        alpha = 1 - math.exp(-dt / 20.0)
        self.recent += alpha * (used / capacity - self.recent)

    def request(self) -> None:
        with self._lock:
            self._advance()
            self.backlog += CPUS / CAPACITY
            self.requests += 1

    def metrics(self) -> str:
        with self._lock:
            self._advance()
            idle, busy, recent = self.idle, self.busy, self.recent
        memory_used = 0.22 + 0.20 * recent
        lines = ["# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.",
                 "# TYPE node_cpu_seconds_total counter"]
        for cpu in range(CPUS):
            lines.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="idle"}} {idle / CPUS:.6f}')
            lines.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="user"}} {busy / CPUS:.6f}')
        lines += [
            "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.",
            "# TYPE node_memory_MemTotal_bytes gauge",
            f"node_memory_MemTotal_bytes {MEM_TOTAL}",
            "# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.",
            "# TYPE node_memory_MemAvailable_bytes gauge",
            f"node_memory_MemAvailable_bytes {MEM_TOTAL * (1 - memory_used):.0f}",
        ]
        return "\n".join(lines) + "\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(address: str, port: int, handler: type[BaseHTTPRequestHandler]) -> _Server:
    server = _Server((address, port), handler)
    threading.Thread(target=server.serve_forever, args=(0.2,), name=f"lab-guest-{address}:{port}",
                     daemon=True).start()
    return server


class Guest:
    """One VM's services on its current address."""

    def __init__(self, name: str, lab: LabConfig, keys: SshKeys) -> None:
        self.name = name
        self.lab = lab
        self.keys = keys
        self.cpu = CpuModel()
        self.address = ""
        self.dir = lab.var / "vms" / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self._servers: list[_Server] = []
        self._sshd: Process | None = None

    def start(self, address: str) -> None:
        guest = self

        class App(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                if self.path.split("?")[0] == "/health":
                    body = b"ok\n"
                else:
                    guest.cpu.request()
                    body = f"served by {guest.name} ({guest.address})\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Exporter(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                found = self.path.split("?")[0] == "/metrics"
                body = guest.cpu.metrics().encode() if found else b"node_exporter: see /metrics\n"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.address = address
        self._servers = [_serve(address, self.lab.app_port, App), _serve(address, self.lab.exporter_port, Exporter)]
        self._sshd = self.keys.sshd(self.name, address, self.dir)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []
        if self._sshd is not None:
            self._sshd.stop(timeout=5)
            self._sshd = None
        self.address = ""

    def move(self, address: str) -> None:
        """netplan applied: the old address is gone (and every SSH session on it), the new one answers."""
        self.stop()
        self.start(address)


class SshKeys:
    """The template's sshd host key (every clone has it) and the operator's key the product logs in with."""

    def __init__(self, lab: LabConfig) -> None:
        self.lab = lab
        self.dir = lab.var / "ssh"
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.host_key = self.dir / "vm_host_ed25519_key"
        self.client_key = self.dir / "id_ed25519"
        for path in (self.host_key, self.client_key):
            if not path.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ixnode-lab", "-f", str(path)],
                               check=True, capture_output=True)
            path.chmod(0o600)
        self.authorized = self.dir / "authorized_keys"
        self.authorized.write_text(Path(f"{self.client_key}.pub").read_text())
        self.authorized.chmod(0o600)

    def sshd(self, name: str, address: str, workdir: Path) -> Process:
        config = workdir / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.lab.ssh_port}",
            f"ListenAddress {address}",
            f"HostKey {self.host_key}",
            f"PidFile {workdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized}",
            f"AllowUsers {self.lab.ssh_user}",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "Subsystem sftp internal-sftp",
            "LogLevel INFO",
            "",
        ]))
        if Path("/run").is_dir():
            with contextlib.suppress(OSError):
                Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # root's sshd wants its privsep directory
        return Process(f"sshd of {name}", ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                       log=self.lab.var / "logs" / f"sshd-{name}.log")


class Fleet:
    """The guests, kept in step with vCenter: powered on with an address in the lab's subnet → running there."""

    def __init__(self, lab: LabConfig, keys: SshKeys, log: Callable[[str], None]) -> None:
        self.lab = lab
        self.keys = keys
        self.log = log
        self.guests: dict[str, Guest] = {}
        self._lock = threading.RLock()

    def _ours(self, state: VmState) -> bool:
        if state.template or not state.powered_on or not state.ip:
            return False
        try:
            return ipaddress.ip_address(state.ip) in self.lab.subnet
        except ValueError:
            return False

    def apply(self, states: list[VmState]) -> None:
        wanted = {s.name: s.ip for s in states if self._ours(s)}
        with self._lock:
            for name in list(self.guests):
                if name not in wanted:
                    self.guests.pop(name).stop()
                    self.log(_("%(vm)s powered off or destroyed: its services stopped") % {"vm": name})
            for name, ip in wanted.items():
                guest = self.guests.get(name)
                if guest is None:
                    guest = self.guests[name] = Guest(name, self.lab, self.keys)
                    guest.start(ip)
                    self.log(_("%(vm)s powered on at %(ip)s: health check, node_exporter :%(exporter)s and sshd "
                               ":%(ssh)s up") % {"vm": name, "ip": ip, "exporter": self.lab.exporter_port,
                                                 "ssh": self.lab.ssh_port})
                elif guest.address != ip:
                    old = guest.address
                    guest.move(ip)
                    self.log(_("%(vm)s moved from %(old)s to %(ip)s (netplan)") % {"vm": name, "old": old, "ip": ip})

    def at(self, address: str) -> Guest | None:
        with self._lock:
            return next((g for g in self.guests.values() if g.address == address), None)

    def stop(self) -> None:
        with self._lock:
            for guest in self.guests.values():
                guest.stop()
            self.guests.clear()

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [{"name": g.name, "address": g.address, "requests": g.cpu.requests,
                     "cpu_recent": round(g.cpu.recent * 100, 1)} for g in sorted(self.guests.values(),
                                                                                 key=lambda g: g.name)]
