"""Webhook benchmark: gunicorn + a real Prometheus answering the VM count, SQLite and PostgreSQL.

Every request is a full decision (each a new alert instance: re-deliveries of one are answered with its standing
decision, see bench/faults.py for those): bearer check, payload validation, config lookup, the VM count read from
Prometheus' /api/v1/targets, the locked transaction (CooldownState row lock / BEGIN IMMEDIATE), a ScaleEvent
insert and a cooldown update. The services sit at their maximum (4 of 4 targets), so each decision is
BLOCK_MAX: no pipeline runs, but nothing is skipped either. Load comes from client processes on this machine
(2 cores shared with the server, Prometheus and the database): figures are a floor, not a ceiling.

Environment: BENCH_REQUESTS (per scenario, default 1500), BENCH_SERVICES (default 32), BENCH_WORKERS /
BENCH_THREADS (gunicorn gthread, default 2 × 4: one worker per core), BENCH_DATABASES (default
``sqlite,postgresql``), BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/ixnode_bench).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TOKEN = "bench-webhook-token"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1500"))
SERVICES = int(os.environ.get("BENCH_SERVICES", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/ixnode_bench")
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")

SEED = """
from templates_app.models import Template
from autoscaling.models import AutoscalingConfig
template, _ = Template.objects.get_or_create(name="bench-template")
for i in range({services}):
    AutoscalingConfig.objects.update_or_create(service_name=f"bench-{{i}}", defaults=dict(
        prometheus_job_name="{job}" if i == 0 else f"{job}-alias-{{i}}", template=template, vm_prefix=f"bench-{{i}}",
        min_vms=2, max_vms=4, ip_pool_start="127.0.60.10", ip_pool_end="127.0.60.40", gateway="127.0.60.1",
        subnet_cidr="127.0.60.0/24", f5_pool_name=f"bench-{{i}}", f5_vip_address="127.0.60.200", enabled=True,
        cooldown_seconds=300))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def payload(alert_id: int) -> bytes:
    alert = {
        "status": "firing",
        "labels": {"alertname": "BenchHighCpu", "autoscale": "scale-out"},
        "annotations": {},
        "startsAt": "2025-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": f"{alert_id:016x}",
    }
    return json.dumps({"version": "4", "groupKey": "bench", "status": "firing", "receiver": "bench",
                       "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
                       "alerts": [alert]}).encode()


def _client_process(port: int, threads: int, per_thread: int, services: int, offset: int, run: int, out) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], []
        # A new alert instance per request, in every load of the run (warm-up included): a re-delivery of one would
        # be answered with its decision, not decided.
        bodies = [payload((run * 10_000 + offset + index) * 1_000_000 + n) for n in range(per_thread)]
        for n in range(per_thread):
            body = bodies[n]
            service = f"bench-{(offset + index + n) % services}"
            started = time.perf_counter()
            try:
                conn.request("POST", f"/api/webhook/autoscale/{service}", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.status != 200:
                    bad.append(f"{response.status} {data[:200]!r}")
            except (OSError, http.client.HTTPException) as exc:
                bad.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((latencies, errors, time.process_time()))


_LOADS = iter(range(1, 1_000_000))


def load(port: int, concurrency: int, total: int, services: int) -> dict:
    processes = 1 if concurrency == 1 else 2
    threads = max(concurrency // processes, 1)
    per_thread = max(total // (processes * threads), 1)
    queue: multiprocessing.Queue = multiprocessing.Queue()
    run = next(_LOADS)
    started = time.perf_counter()
    procs = [multiprocessing.Process(target=_client_process,
                                     args=(port, threads, per_thread, services, p * threads, run, queue))
             for p in range(processes)]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - started
    latencies = sorted(x for lat, _, _ in results for x in lat)
    errors = [e for _, errs, _ in results for e in errs]
    client_cpu = sum(cpu for _, _, cpu in results)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "throughput": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "client_cpu_ms": client_cpu / max(len(latencies), 1) * 1000,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn master + workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                pids += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    for one in pids:
        try:
            with open(f"/proc/{one}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return total


def _measured(server_pid: int, port: int, concurrency: int, total: int, services: int) -> dict:
    before = _cpu_seconds(server_pid)
    result = load(port, concurrency, total, services)
    result["cpu_ms"] = (_cpu_seconds(server_pid) - before) / max(result["requests"], 1) * 1000
    return result


def _env(base: dict, prometheus_url: str) -> dict:
    env = dict(os.environ)
    env.update(base)
    env.update({
        "DJANGO_SETTINGS_MODULE": "ixnode.settings",
        "SECRET_KEY": "bench-only-secret-key",
        "DEBUG": "0",
        "IXNODE_WEBHOOK_TOKEN": TOKEN,
        "IXNODE_PROMETHEUS_URL": prometheus_url,
        "IXNODE_LOG_LEVEL": "WARNING",
    })
    return env


def pg_database_recreate(url: str) -> None:
    """Drop and create the database of ``url`` (a benchmark's own, on the PostgreSQL it names)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def scenario(db: str, prometheus_url: str, job: str, workdir: Path) -> list[tuple[str, dict]]:
    if db == "postgresql":
        pg_database_recreate(PG_URL)
        base = {"DATABASE_URL": PG_URL, "IXNODE_DB_CONN_MAX_AGE": "600"}
    else:
        var = workdir / "sqlite"
        shutil.rmtree(var, ignore_errors=True)
        var.mkdir(parents=True)
        base = {"IXNODE_VAR_DIR": str(var)}
    env = _env(base, prometheus_url)
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PY, "manage.py", "shell", "-c", SEED.format(services=SERVICES, job=job)], cwd=ROOT, env=env,
                   check=True)
    port = free_port()
    server = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "ixnode.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--threads", str(THREADS), "--worker-class", "gthread", "--keep-alive", "30",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / f"gunicorn-{db}.log", "w"),  # noqa: SIM115
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start: " + (workdir / f"gunicorn-{db}.log").read_text()[-2000:])
        load(port, 4, 200, SERVICES)  # warm-up: worker imports, connections, Prometheus keep-alive
        results = []
        for concurrency in (1, 32):
            total = REQUESTS // 3 if concurrency == 1 else REQUESTS
            results.append((f"{db:<10} c={concurrency:<3} {SERVICES} services",
                            _measured(server.pid, port, concurrency, total, SERVICES)))
        results.append((f"{db:<10} c=32  1 service ", _measured(server.pid, port, 32, REQUESTS, 1)))
        return results
    finally:
        server.terminate()
        server.wait(20)


def run() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.prometheus import PrometheusServer

    workdir = Path(tempfile.mkdtemp(prefix="ixnode-bench-"))
    prometheus = PrometheusServer(workdir / "prometheus", scrape_interval="15s")
    prometheus.start()
    try:
        job = "bench-service"
        targets = [f"127.0.60.{10 + i}:9100" for i in range(4)]
        jobs = {job: targets, **{f"{job}-alias-{i}": targets for i in range(1, SERVICES)}}
        prometheus.add_jobs(jobs, wait=True)
        print(f"Prometheus {prometheus.url}: {len(jobs)} jobs × 4 targets; gunicorn {WORKERS} workers × "
              f"{THREADS} threads; {os.cpu_count()} CPUs; decisions are BLOCK_MAX (count read from Prometheus, "
              f"event + cooldown written)")
        print(f"{'scenario':<36} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'web CPU ms/req':>14} {'client CPU ms/req':>17}")
        for db in DATABASES:
            try:
                rows = scenario(db, prometheus.url, job, workdir)
            except Exception as exc:  # noqa: BLE001 - report the database that could not run
                print(f"{db}: failed: {exc.__class__.__name__}: {exc}")
                continue
            for name, r in rows:
                error = f"  first error: {r['first_error']}" if r["errors"] else ""
                print(f"{name:<36} {r['requests']:>8} {r['errors']:>6} {r['throughput']:>8.0f} "
                      f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['cpu_ms']:>14.1f} {r['client_cpu_ms']:>17.1f}"
                      f"{error}", flush=True)
    finally:
        prometheus.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    run()
