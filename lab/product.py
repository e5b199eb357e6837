"""The product, started as an operator starts it (``scripts/run.sh``, i.e. ``make run`` without make) with an
environment pointing at the lab, and driven only through its public entry points: ``manage.py`` commands
and the HTTP API (a DRF token of the admin user)."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from lab.config import ROOT, LabConfig
from lab.i18n import _
from lab.procs import LabError, Process, http_ok

# What the operator's environment may carry that must not leak into the lab's product (it has its own
# database, broker and settings file).
STRIPPED = ("DATABASE_URL", "IXNODE_REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR")


class Product:
    def __init__(self, lab: LabConfig, control_url: str, control_token_file: Path) -> None:
        self.lab = lab
        self.dir = lab.var / "app"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.password = secrets.token_urlsafe(12)
        self.webhook_token = secrets.token_urlsafe(32)
        self.netplan = lab.var / "vm-disk" / "etc" / "netplan" / "60-ixnode.yaml"
        self.netplan.parent.mkdir(parents=True, exist_ok=True)
        self.control_url = control_url
        self.control_token_file = control_token_file
        self.process: Process | None = None
        self.env: dict[str, str] = {}
        self.token = ""

    def environment(self, parts: list[dict[str, str]]) -> dict[str, str]:
        t = self.lab.timings
        hook = " ".join(shlex.quote(a) for a in (sys.executable, str(ROOT / "lab" / "netplan_apply.py"),
                                                  str(self.netplan), self.control_url, str(self.control_token_file)))
        env = {
            "PORT": str(self.lab.port),
            "IXNODE_VAR_DIR": str(self.dir),
            "IXNODE_ENV_FILE": "",  # the operator's .env is for `make run`, not the lab
            "IXNODE_PUBLIC_URL": self.lab.url,
            "IXNODE_ADMIN_USER": self.lab.admin_user,
            "IXNODE_ADMIN_PASSWORD": self.password,
            "IXNODE_WEBHOOK_TOKEN": self.webhook_token,
            "IXNODE_Q_WORKERS": "2",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "8",
            # SSH to the VMs and their network setup (the seed's netplan path, over real SSH)
            "IXNODE_SSH_PORT": str(self.lab.ssh_port),
            "IXNODE_SSH_HOST_KEY_POLICY": "accept-new",
            "IXNODE_SSH_CONNECT_TIMEOUT": "3",
            "IXNODE_SSH_BOOT_TIMEOUT": "60",
            "IXNODE_SSH_RECONNECT_TIMEOUT": "30",
            "IXNODE_NETPLAN_PATH": str(self.netplan),
            "IXNODE_NETPLAN_SUDO": "0",
            "IXNODE_NETPLAN_APPLY_COMMAND": hook,
            "IXNODE_NETPLAN_APPLY_TIMEOUT": "15",
            "IXNODE_HEALTH_INTERVAL": str(t.health_interval),
            "IXNODE_HEALTH_REQUEST_TIMEOUT": "2",
            "IXNODE_HEALTH_TIMEOUT": "60",
            "IXNODE_GUEST_SHUTDOWN_TIMEOUT": "15",
            "IXNODE_CLONE_SETTLE_SECONDS": "10",
        }
        for part in parts:
            env.update(part)
        self.env = env
        return env

    def env_file(self, path: Path) -> None:
        """The product's settings as a .env file: IXNODE_ENV_FILE=var/lab/lab.env .venv/bin/python manage.py …"""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("# The lab's product settings (make lab writes this file; it holds its passwords).\n")
            for key, value in sorted(self.env.items()):
                if key != "IXNODE_ENV_FILE":
                    handle.write(f"{key}={shlex.quote(value)}\n")

    def _process_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in STRIPPED and not k.startswith(("VCENTER_", "F5_",
        "IXNODE_VCENTER_", "IXNODE_F5_"))}
        env.update(self.env)
        return env

    def start(self) -> None:
        log = self.lab.var / "logs" / "product.log"
        self.process = Process(_("the product (scripts/run.sh)"), [str(ROOT / "scripts" / "run.sh")], log=log,
                               env=self._process_env(), cwd=ROOT)
        self.process.wait_until(lambda: http_ok(f"{self.lab.url}/healthz"), timeout=180,
                                what=_("did not answer %(url)s/healthz") % {"url": self.lab.url})
        self.token = self._token()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=40)

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=self._process_env(),
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise LabError(f"manage.py {' '.join(args)} failed: {result.stderr.strip()[-2000:]}")
        return result.stdout

    def _token(self) -> str:
        out = self.manage("drf_create_token", self.lab.admin_user)
        # "Generated token <key> for user admin"
        words = out.split()
        if "token" not in words:
            raise LabError(f"drf_create_token printed no token: {out!r}")
        return words[words.index("token") + 1]

    # --- HTTP API ------------------------------------------------------------------------------------------

    def api(self, method: str, path: str, payload: Any = None, *, ok: tuple[int, ...] = (200, 201)) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json",
                   "Accept": "application/json"}
        request = urllib.request.Request(f"{self.lab.url}{path}", data=data, method=method,  # noqa: S310
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        if status not in ok:
            raise LabError(f"{method} {path} answered HTTP {status}: {body.decode(errors='replace')[:2000]}")
        return json.loads(body) if body else None

    def demo_service_create(self) -> dict:
        """Template from vCenter, the demo service's config, its base VMs' targets; wait until it is published."""
        self.api("POST", "/api/templates/sync/")
        templates = self.api("GET", "/api/templates/")
        rows = templates["results"] if isinstance(templates, dict) else templates
        template = next((t for t in rows if t["name"] == self.lab.template), None)
        if template is None:
            raise LabError(f"template {self.lab.template} not found after the sync: {rows}")
        t = self.lab.timings
        start, end = self.lab.pool
        config = {
            "serviceName": self.lab.service,
            "prometheusJobName": self.lab.job,
            "templateId": template["id"],
            "vmPrefix": self.lab.service,
            "minVms": 2,
            "maxVms": 4,
            "scaleOutStep": 1,
            "scaleInStep": 1,
            "sshUser": self.lab.ssh_user,
            "sshKeyPath": str(self.lab.var / "ssh" / "id_ed25519"),
            "enabled": True,
            "monitoring": {
                "cpuThreshold": 75, "memoryThreshold": 90, "durationMinutes": t.out_minutes,
                "scaleInCpuThreshold": 30, "scaleInMemoryThreshold": 60, "scaleInDurationMinutes": t.in_minutes,
                "cooldownSeconds": t.cooldown_seconds, "alertRepeatIntervalSeconds": t.repeat_seconds,
                "nodeExporterPort": self.lab.exporter_port,
            },
            "network": {"mode": "ssh_netplan", "ipPoolStart": start, "ipPoolEnd": end,
                        "gateway": self.lab.gateway, "subnetCidr": str(self.lab.subnet), "vlanId": 0},
            "f5": {"poolName": self.lab.pool_name, "vipAddress": self.lab.vip, "vipPort": self.lab.app_port,
                   "healthCheckPath": "/health"},
        }
        self.api("POST", "/api/autoscaling/configs/", config)
        for address in self.lab.base_addresses:
            self.api("POST", f"/api/autoscaling/configs/{self.lab.service}/targets/",
                     {"target": f"{address}:{self.lab.exporter_port}"})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            current = self.api("GET", f"/api/autoscaling/configs/{self.lab.service}/")
            status = current["artifacts"]["status"]
            if status == "active":
                return current
            if status == "error":
                raise LabError(_("Publishing the demo service failed: %(error)s") % {
                    "error": current["artifacts"]["error"]})
            time.sleep(0.5)
        raise LabError(_("The demo service's artifacts were not published within 120 s (see %(log)s)") % {
            "log": self.lab.var / "logs" / "product.log"})

    def events(self) -> list[dict]:
        data = self.api("GET", f"/api/events/?service={self.lab.service}")
        return data["results"] if isinstance(data, dict) else data
