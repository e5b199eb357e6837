"""Operator pages under load: 200 services and 100,000 scale events in PostgreSQL.

Measures the median server time (Django test client, in process: middleware + view + template) and the
SQL query count of the overview, a service page (+ its chart JSON and its instances panel, which the page loads
after itself), and the event history page 1 and page 500 (unfiltered and filtered). A real Prometheus (empty, on a
free loopback port) answers the pages' queries; vCenter and the F5 are left unconfigured (the panel says so at once,
so its figure is its own cost, not theirs). ``DATABASE_URL`` must point at PostgreSQL; when it does not, the bench
re-runs itself against ``postgres://postgres@127.0.0.1:5432/ixnode_bench_pages``.

Run: ``make bench`` or ``.venv/bin/python -m bench pages``.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ixnode_bench_pages"
SERVICES = 200
EVENTS = 100_000
RUNS = 15


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_database(url: str) -> None:
    import psycopg
    from dj_database_url import parse

    params = parse(url)
    admin = psycopg.connect(host=params["HOST"], port=params["PORT"] or 5432, user=params["USER"],
                            password=params["PASSWORD"] or None, dbname="postgres", autocommit=True)
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [params["NAME"]]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{params["NAME"]}"')


def _populate() -> None:
    from django.utils import timezone

    from autoscaling.models import AutoscalingConfig
    from events.models import ScaleEvent, ScaleEventStage
    from templates_app.models import Template

    if AutoscalingConfig.objects.count() == SERVICES and ScaleEvent.objects.count() == EVENTS:
        return
    print("populating: 200 services, 100,000 events …", flush=True)
    ScaleEventStage.objects.all().delete()
    ScaleEvent.objects.all().delete()
    AutoscalingConfig.objects.all().delete()
    template, _ = Template.objects.get_or_create(name="bench-golden")
    configs = []
    for i in range(SERVICES):
        a, b = divmod(i, 200)
        configs.append(AutoscalingConfig(
            service_name=f"svc-{i:03d}", prometheus_job_name=f"svc-{i:03d}-job", template=template,
            vm_prefix=f"svc-{i:03d}", min_vms=2, max_vms=6,
            ip_pool_start=f"10.{a}.{b}.20", ip_pool_end=f"10.{a}.{b}.60",
            gateway=f"10.{a}.{b}.1", subnet_cidr=f"10.{a}.{b}.0/24", f5_pool_name=f"svc-{i:03d}-pool",
            f5_vip_address=f"10.{a}.{b}.250", enabled=i % 10 != 0, artifacts_status="active",
        ))
    configs = AutoscalingConfig.objects.bulk_create(configs)
    rng = random.Random(42)
    now = timezone.now()
    decisions = ["ALLOW", "BLOCK_COOLDOWN", "BLOCK_MAX", "BLOCK_MIN", "BLOCK_IN_PROGRESS"]
    batch = []
    for n in range(EVENTS):
        config = configs[n % SERVICES]
        decision = rng.choice(decisions)
        action = "scale-out" if rng.random() < 0.5 else "scale-in"
        status = rng.choice(["succeeded", "succeeded", "rolled_back"]) if decision == "ALLOW" else "blocked"
        batch.append(ScaleEvent(
            config=config, service_name=config.service_name, action=action, decision=decision, status=status,
            reason=f"{decision} at {n}", before_count=3, after_count=4 if status == "succeeded" else None,
            vm_names=[f"{config.vm_prefix}-20260101{n % 1000000:06d}"] if decision == "ALLOW" else [],
        ))
        if len(batch) == 10_000:
            ScaleEvent.objects.bulk_create(batch)
            batch = []
    ScaleEvent.objects.bulk_create(batch)
    # Spread the events over 60 days (created_at is auto_now_add): one UPDATE.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_scaleevent SET created_at = %s - (id %% 86400) * interval '60 seconds'", [now]
        )
    allowed = list(ScaleEvent.objects.filter(decision="ALLOW").values_list("id", flat=True)[:5000])
    names = ["allocate_ip", "clone", "power_on", "network", "health", "f5_add", "target_add", "complete"]
    stages = [ScaleEventStage(event_id=event_id, position=p, name=name, status="succeeded",
                              started_at=now - timedelta(minutes=5), finished_at=now, log="ok\n" * 5)
              for event_id in allowed for p, name in enumerate(names, start=1)]
    ScaleEventStage.objects.bulk_create(stages, batch_size=10_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(client, url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    status = 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
        queries, status = len(captured), response.status_code
    return statistics.median(times[2:]), queries, status


def _bench() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("bench.pages needs PostgreSQL")
    call_command("migrate", verbosity=0)
    _populate()
    settings.ALLOWED_HOSTS = ["testserver"]

    root = Path(tempfile.mkdtemp(prefix="ixnode-bench-prom-"))
    (root / "prometheus.yml").write_text("global: {scrape_interval: 15s}\nscrape_configs: []\n")
    port = _free_port()
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={root / 'prometheus.yml'}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={root / 'data'}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{port}"
        import requests

        for _ in range(200):
            try:
                if requests.get(f"{settings.IXNODE_PROMETHEUS_URL}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True,
                                                                                     "is_staff": True})
        client = Client()
        client.force_login(user)
        pages = [
            ("overview (200 services)", "/"),
            ("service page", "/services/svc-042/"),
            ("service chart JSON (3 h)", "/services/svc-042/chart.json?hours=3"),
            ("service instances panel (fragment)", "/services/svc-042/instances/"),
            ("service instances page (no JavaScript)", "/services/svc-042/instances/"),
            ("event history page 1", "/events/"),
            ("event history page 500", "/events/?page=500"),
            ("history filtered (scale-out) page 1", "/events/?action=scale-out"),
            ("history filtered (scale-out) page 500", "/events/?action=scale-out&page=500"),
            ("history filtered (service) page 1", "/events/?service=svc-042"),
            ("event page", None),
        ]
        from events.models import ScaleEvent

        event_id = ScaleEvent.objects.filter(decision="ALLOW", stages__isnull=False).values_list("id", flat=True)[0]
        print(f"{'page':42} {'median ms':>10} {'SQL':>5} {'HTTP':>5}")
        for label, url in pages:
            url = url or f"/events/{event_id}/"
            # The service page's script asks for the panel alone; a browser without JavaScript gets its page.
            headers = {"X-IXNode-Fragment": "1"} if label.endswith("(fragment)") else None
            median, queries, status = _measure(client, url, headers)
            print(f"{label:42} {median:10.1f} {queries:5d} {status:5d}", flush=True)
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def run() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        from django.conf import settings

        if settings.configured:  # another bench set Django up on SQLite: measure in a fresh process
            env = {**os.environ, "DATABASE_URL": DEFAULT_URL, "DJANGO_SETTINGS_MODULE": "tests.settings"}
            _ensure_database(DEFAULT_URL)
            subprocess.run([sys.executable, "-m", "bench", "pages"], env=env, check=True)
            return
        os.environ["DATABASE_URL"] = url = DEFAULT_URL
    _ensure_database(url)
    _bench()
