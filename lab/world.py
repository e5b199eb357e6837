"""The lab's start, watch and stop (``python -m lab``; ``make lab``)."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import yaml

from ixnode.terminal import TerminalForeground
from lab.config import LabConfig
from lab.control import ControlServer
from lab.f5 import Bigip
from lab.i18n import _
from lab.load import LoadGenerator
from lab.plg import Plg
from lab.procs import LabError, port_free
from lab.product import Product
from lab.vcenter import Vcsim, Watcher
from lab.vms import Fleet, SshKeys

MARKER = ".ixnode-lab"
STATUS_EVERY = 10.0
EVENTS_EVERY = 2.0


def say(line: str) -> None:
    print(f"[lab {time.strftime('%H:%M:%S')}] {line}", flush=True)


class Lab:
    def __init__(self, lab: LabConfig) -> None:
        self.lab = lab
        self.stopping = threading.Event()
        self.parts: list = []  # started parts, stopped in reverse order
        self.ready = False
        self.events: dict[int, dict] = {}
        self._last_block: dict[str, str] = {}
        self._busy: dict[str, tuple[float, float]] = {}
        self._events_lock = threading.Lock()

    # --- start -----------------------------------------------------------------------------------------------

    def prepare_dir(self) -> None:
        var = self.lab.var
        if var.exists() and any(var.iterdir()) and not (var / MARKER).exists():
            raise LabError(_("%(dir)s exists and is not a lab directory (no %(marker)s): choose another LAB_VAR_DIR")
                           % {"dir": var, "marker": MARKER})
        if var.exists():
            shutil.rmtree(var)  # a fresh world each time: vcsim's inventory and the F5 double live in memory
        var.mkdir(parents=True)
        (var / MARKER).write_text("make lab's working directory: deleted and re-created by every make lab\n")
        (var / "logs").mkdir()

    def check_ports(self) -> None:
        lab = self.lab
        if not port_free("127.0.0.1", lab.port):
            raise LabError(_("Port %(port)s on 127.0.0.1 is in use (make run? another make lab?): choose another "
                             "one, e.g. PORT=%(other)s make lab") % {"port": lab.port, "other": lab.port + 100})
        probe = lab.vip
        for name, port in (("LAB_APP_PORT", lab.app_port), ("LAB_EXPORTER_PORT", lab.exporter_port),
                           ("LAB_SSH_PORT", lab.ssh_port)):
            if not port_free(probe, port):
                raise LabError(_("Port %(port)s on %(address)s is in use (something listens on every address?): "
                                 "choose another with %(name)s=… make lab, or another subnet with LAB_SUBNET=…")
                               % {"port": port, "address": probe, "name": name})

    def start(self) -> None:
        lab = self.lab
        self.check_ports()
        self.prepare_dir()
        token = secrets.token_urlsafe(24)
        token_file = lab.var / "control-token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        self.control = ControlServer(token, {
            ("GET", "/status"): lambda body: (200, self.status()),
            ("POST", "/load"): self.route_load,
            ("POST", "/netplan-applied"): self.route_netplan_applied,
        })
        self.control.start()
        self.parts.append(self.control)

        say(_("Starting vcsim (the vCenter simulator)…"))
        self.keys = SshKeys(lab)
        self.vcsim = Vcsim(lab)
        self.parts.append(self.vcsim)
        self.vcsim.start()
        say(_("Starting Prometheus and Alertmanager…"))
        self.plg = Plg(lab)
        self.parts.append(self.plg)
        self.plg.start()
        say(_("Starting the F5 BIG-IP double and its VIP…"))
        self.bigip = Bigip(lab)
        self.parts.append(self.bigip)
        self.bigip.start()
        self.fleet = Fleet(lab, self.keys, say)
        self.parts.append(self.fleet)
        self.watcher = Watcher(self.vcsim, lab.timings.watch_interval, self.fleet.apply, say)
        self.parts.append(self.watcher)
        self.vcsim.base_vms_create()
        self.watcher.start()
        self.watcher.look()

        say(_("Starting the product (scripts/run.sh on %(url)s, log %(log)s)…")
            % {"url": lab.url, "log": lab.var / "logs" / "product.log"})
        self.product = Product(lab, self.control.url, token_file)
        self.product.environment([self.vcsim.product_env(), self.plg.product_env(), self.bigip.product_env()])
        self.product.env_file(lab.var / "lab.env")
        self.parts.append(self.product)
        self.product.start()
        say(_("Creating the demo service '%(service)s' through the API (min 2, max 4 VMs)…") % {"service": lab.service})
        self.product.demo_service_create()
        self.load = LoadGenerator(lab)
        self.parts.append(self.load)
        self.load.start()
        self.ready = True
        self.endpoints_write()
        self.banner()

    def endpoints_write(self) -> None:
        """var/lab/lab.json (mode 600): where everything listens, for scripts and the headless test."""
        lab = self.lab
        endpoints = {
            "url": lab.url, "service": lab.service, "admin_user": lab.admin_user, "password": self.product.password,
            "control_url": self.control.url, "control_token_file": str(lab.var / "control-token"),
            "prometheus_url": self.plg.prometheus_url, "alertmanager_url": self.plg.alertmanager_url,
            "vip": f"http://{lab.vip}:{lab.app_port}/", "base_addresses": list(lab.base_addresses),
            "app_port": lab.app_port, "exporter_port": lab.exporter_port, "env_file": str(lab.var / "lab.env"),
        }
        fd = os.open(lab.var / "lab.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(endpoints, handle, indent=1)

    def banner(self) -> None:
        lab = self.lab
        lines = [
            _("IXNode Autoscaling lab is running: %(url)s") % {"url": f"{lab.url}/services/{lab.service}/"},
            _("Log in as '%(user)s' with password '%(password)s'") % {"user": lab.admin_user,
                                                                       "password": self.product.password},
            _("The load goes up and down every %(seconds)s s: watch 2 → 3 → 4 VMs and back to 2") % {
                "seconds": f"{lab.timings.profile[-1][0]:g}"},
            _("(events, stage timelines and the chart on the service page; overview at /, history at /events/)."),
            f"Prometheus {self.plg.prometheus_url}  Alertmanager {self.plg.alertmanager_url}  "
            f"VIP http://{lab.vip}:{lab.app_port}/",
            _("Logs: %(logs)s   manage.py against the lab: %(command)s") % {
                "logs": lab.var / "logs",
                "command": f"IXNODE_ENV_FILE={lab.var / 'lab.env'} .venv/bin/python manage.py …"},
            _("Ctrl-C stops everything."),
        ]
        print("\n" + "\n".join(f"  {line}" for line in lines) + "\n", flush=True)

    # --- control routes ----------------------------------------------------------------------------------

    def route_load(self, body: dict) -> tuple[int, dict]:
        rate = body.get("rps")
        if rate is not None and (not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 200):
            return 400, {"rps": ["a number of requests per second between 0 and 200, or null for the profile"]}
        self.load.set_rate(None if rate is None else float(rate))
        return 200, {"rps": self.load.rate(), "profile": rate is None}

    def route_netplan_applied(self, body: dict) -> tuple[int, dict]:
        server_ip, path = body.get("server_ip", ""), body.get("netplan", "")
        if Path(path) != self.product.netplan:
            return 400, {"error": f"the lab's VMs keep their netplan file at {self.product.netplan}, not {path!r}"}
        guest = self.fleet.at(server_ip)
        if guest is None:
            return 404, {"error": f"no lab VM answers on {server_ip}"}
        try:
            document = yaml.safe_load(Path(path).read_text())
            ethernets = document["network"]["ethernets"]
            address = str(ipaddress.ip_interface(next(iter(ethernets.values()))["addresses"][0]).ip)
        except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration, IndexError, ValueError) as exc:
            return 400, {"error": f"Invalid netplan file {path}: {exc.__class__.__name__}: {exc}"}
        if ipaddress.ip_address(address) not in self.lab.subnet:
            return 400, {"error": f"{address} is outside the lab's subnet {self.lab.subnet}"}
        shutil.copyfile(path, guest.dir / "netplan.yaml")

        def move() -> None:
            time.sleep(0.3)  # the apply command's answer goes back before its SSH session ends with the address
            try:
                self.vcsim.guest_ip_report(guest.name, address)
                self.watcher.look()
            except Exception as exc:  # noqa: BLE001 - reported; the pipeline's reconnect then fails and says so
                say(_("Moving %(vm)s to %(address)s failed: %(error)s") % {"vm": guest.name, "address": address,
                                                                            "error": exc})

        threading.Thread(target=move, name="lab-netplan", daemon=True).start()
        return 200, {"message": f"{guest.name}: {server_ip} → {address}"}

    # --- watching ------------------------------------------------------------------------------------------

    def status(self) -> dict:
        if not self.ready:
            return {"ready": False}
        try:
            self.poll_events()  # fresh: the events as the product has them now
        except LabError as exc:
            say(_("Reading the events failed: %(error)s") % {"error": exc})
        return {
            "ready": True,
            "url": self.lab.url,
            "service": self.lab.service,
            "rps": round(self.load.rate(), 2),
            "sent": self.load.sent,
            "errors": self.load.errors,
            "vip_failed": self.bigip.vip.failed if self.bigip.vip else 0,
            "members": sorted(f"{m['address']}:{m['name'].rsplit(':', 1)[1]} {m['session']}"
                              for m in self.bigip.members()),
            "guests": self.fleet.snapshot(),
            "events": [self.events[k] for k in sorted(self.events.copy())],
        }

    def poll_events(self) -> None:
        with self._events_lock:
            self._poll_events()

    def _poll_events(self) -> None:
        for event in sorted(self.product.events(), key=lambda e: e["id"]):
            known = self.events.get(event["id"])
            summary = {k: event[k] for k in ("id", "action", "decision", "status", "reason", "beforeCount",
                                               "afterCount", "vmNames", "error", "createdAt", "finishedAt")}
            self.events[event["id"]] = summary
            if event["decision"] != "ALLOW":
                if known is None and self._last_block.get(event["action"]) != event["decision"]:
                    say(_("Event %(id)s: %(action)s %(decision)s — %(reason)s") % event)
                self._last_block[event["action"]] = event["decision"]
                continue
            self._last_block.pop(event["action"], None)
            if known is None:
                say(_("Event %(id)s: %(action)s %(decision)s — %(reason)s") % event)
            if event["status"] != (known or {}).get("status") and event["status"] in (
                    "succeeded", "failed", "rolled_back"):
                detail = f": {event['error']}" if event["error"] else ""
                say(_("Event %(id)s: %(action)s %(status)s (%(before)s → %(after)s VMs, %(vms)s)%(detail)s") % {
                    "id": event["id"], "action": event["action"], "status": event["status"],
                    "before": event["beforeCount"], "after": event["afterCount"], "vms": ", ".join(event["vmNames"]),
                    "detail": detail})
        if len(self.events) > 500:
            for key in sorted(self.events)[:-500]:
                del self.events[key]

    def print_status(self) -> None:
        members = [m for m in self.bigip.members() if m["session"] != "user-disabled"]
        parts = []
        now = time.monotonic()
        for guest in sorted(self.fleet.guests.values(), key=lambda g: g.name):
            busy = guest.cpu.busy
            then = self._busy.get(guest.name)
            self._busy[guest.name] = (now, busy)
            if then is not None and now > then[0]:
                cpu = 100 * (busy - then[1]) / ((now - then[0]) * 2)
                parts.append(f"{guest.name.removeprefix(self.lab.service + '-')} {cpu:.0f}%")
        say(_("Load %(rate)s req/s, F5 pool: %(members)s active members, CPU: %(cpu)s") % {
            "rate": f"{self.load.rate():.0f}", "members": len(members), "cpu": ", ".join(parts)})

    def run(self) -> None:
        last_status = last_events = 0.0
        while not self.stopping.wait(0.5):
            for part in (self.vcsim, *self.plg.processes, self.product):
                process = getattr(part, "process", part)
                if process is not None and not process.alive():
                    raise LabError(_("%(name)s stopped unexpectedly (log: %(log)s)") % {"name": process.name,
                                                                                         "log": process.log})
            now = time.monotonic()
            if now - last_events >= EVENTS_EVERY:
                last_events = now
                try:
                    self.poll_events()
                except LabError as exc:
                    say(_("Reading the events failed: %(error)s") % {"error": exc})
            if now - last_status >= STATUS_EVERY:
                last_status = now
                self.bigip.trim_log()
                self.print_status()

    # --- stop --------------------------------------------------------------------------------------------

    def stop(self) -> None:
        say(_("Stopping…"))
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception as exc:  # noqa: BLE001 - stop everything else regardless
                say(_("Stopping %(part)s failed: %(error)s") % {"part": part.__class__.__name__, "error": exc})
        self.parts.clear()
        say(_("Stopped; the logs are in %(logs)s") % {"logs": self.lab.var / "logs"})


def main() -> int:
    try:
        lab = LabConfig.from_env()
    except SystemExit as exc:
        print(f"make lab: {exc}", file=sys.stderr)
        return 2
    world = Lab(lab)

    def on_signal(signum: int, _frame: object) -> None:
        world.stopping.set()
        raise KeyboardInterrupt

    with TerminalForeground():
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, on_signal)
        status = 0
        try:
            world.start()
            world.run()
        except KeyboardInterrupt:
            pass
        except LabError as exc:
            print(f"make lab: {exc}", file=sys.stderr)
            status = 1
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)  # stopping is not interrupted by a second Ctrl-C
            world.stop()
    return status
