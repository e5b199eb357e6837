"""Storm and fault scenarios of the webhook (issue 12): gunicorn, a real Prometheus, SQLite (and PostgreSQL).

Each scenario prints its figures beside their goal:

- **Prometheus restart mid-storm**: a storm of identical alerts to two services — ``bench-out`` at its maximum
  (4 of 4, scale-out alerts) and ``bench-in`` with 3 VMs (minimum 2, scale-in alerts) — while Prometheus is
  stopped and started again (scrape interval 15 s, as Prometheus' default). Until its targets are rediscovered
  and scraped the count is unknown: any ALLOW at the maximum, any BLOCK_MIN above the minimum and any cooldown
  started then were taken on a wrong count. The storm goes on 5 s after Prometheus settled: the decisions then
  must be the normal ones (BLOCK_MAX at 4; the scale-in 3 → 2 allowed once).
- **Duplicate storm**: 1,000 identical alerts (one alert instance) from 50 concurrent clients to a service at
  2 of 4: one ALLOW, one decision recorded, every delivery answered and accounted for.
- **Cooldown 0, runs failing fast**: 50 deliveries of one alert instance, 100 ms apart, to a service with
  ``cooldownSeconds: 0`` whose runs fail as soon as they are queued (a worker ending each as failed): one ALLOW.

Run it on another checkout's code (the figures "before" a change) with ``BENCH_CODE_ROOT=/path/to/checkout``: the
servers and the database queries then run that tree's code. Environment: BENCH_DATABASES (default ``sqlite``; add
``postgresql`` with BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/ixnode_bench_faults), BENCH_WORKERS /
BENCH_THREADS (gunicorn gthread, default 2 × 8).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.webhook import pg_database_recreate

ROOT = Path(__file__).resolve().parent.parent
CODE = Path(os.environ.get("BENCH_CODE_ROOT", str(ROOT))).resolve()
PY = sys.executable
TOKEN = "bench-faults-token"
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite").split(",")
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/ixnode_bench_faults")

TARGETS = {"bench-out": [f"127.0.81.{i}:9100" for i in range(1, 5)],
           "bench-in": [f"127.0.82.{i}:9100" for i in range(1, 4)],
           "bench-dup": [f"127.0.83.{i}:9100" for i in range(1, 3)],
           "bench-zero": [f"127.0.84.{i}:9100" for i in range(1, 3)]}
ACTION = {"bench-out": "scale-out", "bench-in": "scale-in", "bench-dup": "scale-out", "bench-zero": "scale-out"}
COOLDOWN = {"bench-zero": 0}

SEED = """
from templates_app.models import Template
from autoscaling.models import AutoscalingConfig
template, _ = Template.objects.get_or_create(name="bench-template")
for i, (name, cooldown) in enumerate({services!r}):
    AutoscalingConfig.objects.update_or_create(service_name=name, defaults=dict(
        prometheus_job_name="ixnode-" + name, template=template, vm_prefix=name, min_vms=2, max_vms=4,
        ip_pool_start=f"127.0.{{90 + i}}.10", ip_pool_end=f"127.0.{{90 + i}}.40", gateway=f"127.0.{{90 + i}}.1",
        subnet_cidr=f"127.0.{{90 + i}}.0/24", f5_pool_name=name, f5_vip_address=f"127.0.{{90 + i}}.200",
        enabled=True, cooldown_seconds=cooldown))
"""

# Figures read back through the code under test (fields that exist before and after the change).
REPORT = """
import json
from django.db.models import Sum
from events.models import ScaleEvent
rows = ScaleEvent.objects.filter(service_name__in={services!r}).order_by("id")
has_deliveries = any(f.name == "deliveries" for f in ScaleEvent._meta.get_fields())
out = [dict(service=e.service_name, decision=e.decision, count=e.current_vm_count, status=e.status,
            at=e.created_at.timestamp(), reason_code=getattr(e, "reason_code", ""),
            deliveries=e.deliveries if has_deliveries else 1) for e in rows]
from autoscaling.models import CooldownState
cool = {{c.config.service_name: [c.last_scale_out_at and c.last_scale_out_at.timestamp(),
                                 c.last_scale_in_at and c.last_scale_in_at.timestamp()]
        for c in CooldownState.objects.select_related("config").filter(config__service_name__in={services!r})}}
print("REPORT" + json.dumps(dict(events=out, cooldowns=cool)))
"""

# A worker whose runs fail at once: ends every queued run of the service as failed (cooldown 0 starts at once).
FAILING_WORKER = """
import time
from autoscaling.services.runs import scale_event_finish
from events.models import ScaleEvent
deadline = time.monotonic() + {seconds}
while time.monotonic() < deadline:
    for event in ScaleEvent.objects.filter(service_name={service!r}, status__in=["queued", "running"]):
        try:
            scale_event_finish(event=event, status="failed", error="bench: the run failed at once")
        except Exception:
            pass
    time.sleep(0.02)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def notification(action: str, fingerprint: str) -> bytes:
    return json.dumps({
        "version": "4", "groupKey": "{}:{service}", "status": "firing", "receiver": "bench", "groupLabels": {},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{"status": "firing", "labels": {"alertname": "BenchStorm", "autoscale": action}, "annotations": {},
                    "startsAt": "2025-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
                    "fingerprint": fingerprint}],
    }).encode()


class Stack:
    """gunicorn running CODE's product on one database, with publishing to a targets directory Prometheus reads."""

    def __init__(self, db: str, workdir: Path, prometheus_url: str, targets_dir: Path) -> None:
        self.db, self.workdir = db, workdir
        env = dict(os.environ)
        env.update({"DJANGO_SETTINGS_MODULE": "ixnode.settings", "SECRET_KEY": "bench-only-secret-key", "DEBUG": "0",
                    "IXNODE_WEBHOOK_TOKEN": TOKEN, "IXNODE_PROMETHEUS_URL": prometheus_url, "IXNODE_LOG_LEVEL": "ERROR",
                    "IXNODE_PLG_MODE": "off", "IXNODE_ENV_FILE": "", "PYTHONPATH": str(CODE),
                    "IXNODE_PROMETHEUS_TARGETS_DIR": str(targets_dir),
                    "IXNODE_PROMETHEUS_CONFIG": str(workdir / "unused-prometheus.yml"),
                    "IXNODE_PROMETHEUS_RULES_DIR": str(workdir / "unused-rules"),
                    "IXNODE_ALERTMANAGER_CONFIG": str(workdir / "unused-alertmanager.yml")})
        if db == "postgresql":
            pg_database_recreate(PG_URL)
            env.update({"DATABASE_URL": PG_URL, "IXNODE_DB_CONN_MAX_AGE": "600"})
        else:
            var = workdir / "sqlite"
            shutil.rmtree(var, ignore_errors=True)
            var.mkdir(parents=True)
            env["IXNODE_VAR_DIR"] = str(var)
        self.env = env
        self.port = 0
        self.server: subprocess.Popen | None = None

    def manage(self, *args: str, publishing: bool = False) -> str:
        env = dict(self.env, IXNODE_PLG_MODE="local" if publishing else "off")
        done = subprocess.run([PY, "manage.py", *args], cwd=CODE, env=env, check=True, capture_output=True,
                              text=True)
        return done.stdout

    def shell(self, code: str, *, publishing: bool = False) -> str:
        return self.manage("shell", "-c", code, publishing=publishing)

    def start(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")
        self.shell(SEED.format(services=[(name, COOLDOWN.get(name, 300)) for name in TARGETS]))
        self.port = _free_port()
        # Publishing on only for the server (a config save would publish): decisions read the registered targets.
        env = dict(self.env, IXNODE_PLG_MODE="local")
        self.server = subprocess.Popen(
            [str(Path(PY).parent / "gunicorn"), "ixnode.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(WORKERS), "--threads", str(THREADS), "--worker-class", "gthread", "--keep-alive", "30",
             "--log-level", "warning"],
            cwd=CODE, env=env, stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / f"gunicorn-{self.db}.log", "w"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start: " + (self.workdir / f"gunicorn-{self.db}.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(20)

    def report(self, services: list[str]) -> dict:
        out = self.shell(REPORT.format(services=services))
        return json.loads(out.split("REPORT", 1)[1])


def storm(port: int, plan: list[tuple[str, bytes]], clients: int, stop: threading.Event | None = None,
          spacing: float = 0.0) -> list[tuple[float, str, int]]:
    """Send ``plan`` (service, body) from ``clients`` threads (each its own keep-alive connection); with ``stop``,
    cycle through it until set. Returns (time answered, service, status) per request (status 0: no answer)."""
    answers: list[tuple[float, str, int]] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        n = index
        while (stop is not None and not stop.is_set() and n < 200_000) or (stop is None and n < len(plan)):
            service, body = plan[n % len(plan)]
            try:
                conn.request("POST", f"/api/webhook/autoscale/{service}", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                mine.append((time.monotonic(), service, response.status))
            except (OSError, http.client.HTTPException):
                mine.append((time.monotonic(), service, 0))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            n += clients
            if spacing:
                time.sleep(spacing)
        conn.close()
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    return answers


def _row(label: str, value: object, goal: object) -> str:
    return f"  {label + ':':<52} {value!s:>8}   (goal {goal})"


def scenario_restart(stack: Stack, prometheus) -> list[str]:
    services = ["bench-out", "bench-in"]
    plan = [(name, notification(ACTION[name], f"storm-{name}")) for name in services]
    stop = threading.Event()
    answers: list = []
    port = prometheus.port
    prometheus.stop()
    stopped = time.monotonic()
    runner = threading.Thread(target=lambda: answers.extend(storm(stack.port, plan, 50, stop=stop)), daemon=True)
    runner.start()
    time.sleep(1.0)
    prometheus.start(port=port)
    while not all(prometheus.targets_settled(f"ixnode-{n}", len(TARGETS[n])) for n in services):
        if time.monotonic() - stopped > 120:
            break
        time.sleep(0.1)
    settled = time.monotonic()
    time.sleep(5.0)
    stop.set()
    runner.join(120)
    figures = stack.report(services)
    events = figures["events"]
    true = {name: len(TARGETS[name]) for name in services}
    wrong = [e for e in events if e["count"] is not None and e["count"] != true[e["service"]]]
    wrong_allow = [e for e in wrong if e["decision"] == "ALLOW"]
    wrong_cool = [e for e in wrong if e["decision"] in ("BLOCK_MAX", "BLOCK_MIN")]
    unknown = [e for e in events if e["decision"] == "BLOCK_UNKNOWN_COUNT"]
    after_out = [e for e in events if e["service"] == "bench-out" and e["count"] == 4 and e["decision"] == "BLOCK_MAX"]
    after_in = [e for e in events if e["service"] == "bench-in" and e["count"] == 3 and e["decision"] == "ALLOW"]
    cool_in = (figures["cooldowns"].get("bench-in") or [None, None])[1]
    return [
        f"Prometheus restart mid-storm (50 clients, {len(answers)} requests over {settled - stopped + 5:.0f} s; "
        f"Prometheus down 1 s, then {settled - stopped - 1:.1f} s to rediscover and scrape the targets)",
        _row("answers other than 200", sum(1 for a in answers if a[2] != 200), 0),
        _row("ALLOWs on a wrong count (0 → 1 at the maximum)", len(wrong_allow), 0),
        _row("cooldowns started on a wrong count (BLOCK_MIN/MAX)", len(wrong_cool), 0),
        _row("scale-in cooldown started (3 VMs, minimum 2)", "yes" if cool_in else "no", "no"),
        _row("BLOCK_UNKNOWN_COUNT while unsettled", len(unknown), "> 0"),
        _row("after: BLOCK_MAX at 4 of 4", len(after_out) > 0, True),
        _row("after: scale-in 3 → 2 allowed (once)", len(after_in), 1),
        _row("decisions recorded", len(events), "—"),
    ]


def scenario_duplicates(stack: Stack) -> list[str]:
    body = notification("scale-out", "dup-instance")
    started = time.monotonic()
    answers = storm(stack.port, [("bench-dup", body)] * 1000, 50)
    elapsed = time.monotonic() - started
    events = stack.report(["bench-dup"])["events"]
    allows = [e for e in events if e["decision"] == "ALLOW"]
    answered = sum(1 for a in answers if a[2] == 200)
    accounted = sum(e["deliveries"] for e in events)
    return [
        f"Duplicate storm (1,000 identical alerts, 50 clients, {elapsed:.1f} s, {len(answers) / elapsed:.0f} req/s)",
        _row("answers 200", answered, 1000),
        _row("ALLOWs", len(allows), 1),
        _row("decisions recorded", len(events), 1),
        _row("deliveries accounted (decisions + re-deliveries)", accounted, answered),
    ]


def scenario_cooldown_zero(stack: Stack) -> list[str]:
    worker = subprocess.Popen([PY, "manage.py", "shell", "-c", FAILING_WORKER.format(seconds=30, service="bench-zero")],
                              cwd=CODE, env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.0)  # the worker is up
        started = time.monotonic()
        answers = storm(stack.port, [("bench-zero", notification("scale-out", "zero-instance"))] * 50, 1,
                        spacing=0.1)
        elapsed = time.monotonic() - started
        time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(20)
    events = stack.report(["bench-zero"])["events"]
    allows = [e for e in events if e["decision"] == "ALLOW"]
    return [
        f"Cooldown 0, runs failing fast (50 deliveries of one alert instance over {elapsed:.0f} s)",
        _row("answers 200", sum(1 for a in answers if a[2] == 200), 50),
        _row("ALLOWs (runs started)", len(allows), 1),
        _row("runs failed", sum(1 for e in events if e["status"] == "failed"), 1),
        _row("decisions recorded", len(events), 1),
    ]


def run() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.prometheus import PrometheusServer

    workdir = Path(tempfile.mkdtemp(prefix="ixnode-bench-faults-"))
    code = "this checkout" if CODE == ROOT else str(CODE)
    print(f"code under test: {code}; gunicorn {WORKERS} workers × {THREADS} threads; {os.cpu_count()} CPUs")
    try:
        for db in DATABASES:
            prometheus = PrometheusServer(workdir / f"prometheus-{db}", scrape_interval="15s")
            prometheus.start()
            stack = Stack(db, workdir, prometheus.url, prometheus.targets_dir)
            try:
                prometheus.add_jobs({f"ixnode-{n}": t for n, t in TARGETS.items()}, wait=True)
                stack.start()
                print(f"\n--- {db} ---", flush=True)
                print("\n".join(scenario_restart(stack, prometheus)), flush=True)
                print("\n".join(scenario_duplicates(stack)), flush=True)
                print("\n".join(scenario_cooldown_zero(stack)), flush=True)
            except Exception as exc:  # noqa: BLE001 - report the database that could not run
                print(f"{db}: failed: {exc.__class__.__name__}: {exc}", flush=True)
            finally:
                stack.stop()
                prometheus.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    run()
