"""A real Prometheus and Alertmanager (Debian's binaries) whose configuration starts as an operator's minimal
files under var/lab/plg/ and is then changed only by the product's publisher (IXNODE_PLG_MODE=local)."""

from __future__ import annotations

import shutil

from lab.config import LabConfig
from lab.i18n import _
from lab.procs import LabError, Process, free_port, http_ok


class Plg:
    def __init__(self, lab: LabConfig) -> None:
        self.lab = lab
        self.dir = lab.var / "plg"
        self.rules = self.dir / "rules"
        self.targets = self.dir / "targets"
        self.prometheus_yml = self.dir / "prometheus.yml"
        self.alertmanager_yml = self.dir / "alertmanager.yml"
        self.prometheus_port = 0
        self.alertmanager_port = 0
        self.processes: list[Process] = []

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    def start(self) -> None:
        prometheus = shutil.which("prometheus")
        alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if not prometheus or not alertmanager:
            raise LabError(_("prometheus and prometheus-alertmanager are missing: run scripts/install-test-deps.sh "
                             "--lab (make lab does)"))
        for path in (self.rules, self.targets):
            path.mkdir(parents=True, exist_ok=True)
        self.prometheus_port, self.alertmanager_port = free_port(), free_port()
        interval = self.lab.timings.scrape_interval
        self.prometheus_yml.write_text(
            "# The operator's Prometheus (lab). IXNode adds its scrape job and rule_files entry below.\n"
            "global:\n"
            f"  scrape_interval: {interval}\n"
            f"  evaluation_interval: {interval}\n"
            "alerting:\n"
            "  alertmanagers:\n"
            "    - static_configs:\n"
            f"        - targets: ['127.0.0.1:{self.alertmanager_port}']\n"
            "scrape_configs:\n"
            "  - job_name: prometheus\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{self.prometheus_port}']\n"
        )
        self.alertmanager_yml.write_text(
            "# The operator's Alertmanager (lab). IXNode adds its route and receiver.\n"
            "route:\n"
            "  receiver: ops-null\n"
            "receivers:\n"
            "  - name: ops-null\n"
        )
        logs = self.lab.var / "logs"
        am = Process("alertmanager", [
            alertmanager, f"--config.file={self.alertmanager_yml}", f"--storage.path={self.dir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{self.alertmanager_port}", "--cluster.listen-address=",
            "--log.level=warn",
        ], log=logs / "alertmanager.log", cwd=self.dir)
        self.processes.append(am)
        prom = Process("prometheus", [
            prometheus, f"--config.file={self.prometheus_yml}", f"--storage.tsdb.path={self.dir / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{self.prometheus_port}", "--web.enable-lifecycle", "--log.level=warn",
        ], log=logs / "prometheus.log", cwd=self.dir)
        self.processes.append(prom)
        am.wait_until(lambda: http_ok(f"{self.alertmanager_url}/-/ready"), timeout=60)
        prom.wait_until(lambda: http_ok(f"{self.prometheus_url}/-/ready"), timeout=120)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def product_env(self) -> dict[str, str]:
        t = self.lab.timings
        return {
            "IXNODE_PROMETHEUS_URL": self.prometheus_url,
            "IXNODE_ALERTMANAGER_URL": self.alertmanager_url,
            "IXNODE_PLG_MODE": "local",
            "IXNODE_PROMETHEUS_CONFIG": str(self.prometheus_yml),
            "IXNODE_PROMETHEUS_RULES_DIR": str(self.rules),
            "IXNODE_PROMETHEUS_TARGETS_DIR": str(self.targets),
            "IXNODE_ALERTMANAGER_CONFIG": str(self.alertmanager_yml),
            "IXNODE_PROMETHEUS_RELOAD_COMMAND": "",
            "IXNODE_ALERTMANAGER_RELOAD_COMMAND": "",
            "IXNODE_PROMETHEUS_RATE_WINDOW": t.rate_window,
            "IXNODE_POLICY_RATE_WINDOW": t.rate_window,
            "IXNODE_ALERTMANAGER_GROUP_WAIT": t.group_wait,
            "IXNODE_ALERTMANAGER_GROUP_INTERVAL": t.group_interval,
        }
