"""Time from saving one autoscaling config to its rules being live in a real Prometheus, with 1, 100 and 1,000
configs present (issue 3). Also times the parts: merging the live files, promtool/amtool validation, reloads.

Runs against real ``prometheus`` and ``prometheus-alertmanager`` processes on loopback ports (configs written only
by the publisher), with a throw-away test database. ``python -m bench artifacts``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

SIZES = (1, 100, 1000)
SAMPLES = 7


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    import requests
    from django.conf import settings
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    from tests.fixtures.plg import point_settings_at
    from tests.fixtures.plg_stack import start_plg_stack

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        with tempfile.TemporaryDirectory(prefix="ixnode-bench-artifacts-") as tmp, start_plg_stack(
            Path(tmp) / "plg", interval="15s"
        ) as stack:
            point_settings_at(settings, stack.files)
            settings.VAR_DIR = Path(tmp) / "var"
            settings.IXNODE_PROMETHEUS_RELOAD_COMMAND = ""
            settings.IXNODE_ALERTMANAGER_RELOAD_COMMAND = ""
            settings.IXNODE_PROMETHEUS_URL = stack.prometheus_url
            settings.IXNODE_ALERTMANAGER_URL = stack.alertmanager_url
            settings.IXNODE_ARTIFACTS_SYNC = True
            _bench(stack, requests, settings)
    finally:
        teardown_databases(old_config, verbosity=0)


def _make_configs(count: int, template) -> None:
    from autoscaling.models import AutoscalingConfig

    existing = AutoscalingConfig.objects.count()
    objects = []
    for index in range(existing, count):
        name = f"bench-{index:04d}"
        objects.append(
            AutoscalingConfig(
                service_name=name,
                prometheus_job_name=f"{name}-service",
                template=template,
                vm_prefix=name,
                enabled=True,
                ip_pool_start="127.0.48.220",
                ip_pool_end="127.0.48.228",
                gateway="127.0.48.1",
                subnet_cidr="127.0.48.0/24",
                f5_pool_name=f"{name}-pool",
                f5_vip_address="127.0.48.229",
                scale_out_duration_minutes=1,
            )
        )
    AutoscalingConfig.objects.bulk_create(objects)  # no signals: published below in one change


def _rule_threshold_live(requests, url: str, service: str, threshold: int) -> bool:
    groups = requests.get(f"{url}/api/v1/rules", params={"type": "alert"}, timeout=30).json()["data"]["groups"]
    for group in groups:
        if group["name"] == f"ixnode-{service}":
            return any(rule["query"].endswith(f"> {threshold}") for rule in group["rules"])
    return False


def _time(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def _bench(stack, requests, settings) -> None:
    from artifacts.services import artifacts_publish_all
    from autoscaling.models import AutoscalingConfig
    from templates_app.models import Template

    template = Template.objects.create(name="bench-template", source_vm_name="bench-src", datastore="ds1")
    print(f"{'configs':>8} {'save->live median':>18} {'p90':>8} {'merge':>8} {'promtool cfg':>12} "
          f"{'amtool':>8} {'prom reload':>11} {'am reload':>9} {'prom.yml':>9} {'am.yml':>8}")
    previous: dict[int, float] = {}
    for size in SIZES:
        _make_configs(size, template)
        setup = _time(artifacts_publish_all)
        config = AutoscalingConfig.objects.order_by("service_name").first()
        durations = []
        for sample in range(SAMPLES):
            threshold = 81 + (sample % 10) + (size % 7)
            config.scale_out_cpu_threshold = threshold
            started = time.perf_counter()
            config.save()  # signal -> on_commit -> regeneration (IXNODE_ARTIFACTS_SYNC) -> publish -> reload
            while not _rule_threshold_live(requests, stack.prometheus_url, config.service_name, threshold):
                if time.perf_counter() - started > 60:
                    raise RuntimeError("rules did not go live within 60 s")
                time.sleep(0.01)
            durations.append(time.perf_counter() - started)
            config.refresh_from_db()
            if config.artifacts_status != "active":
                raise RuntimeError(f"publish failed: {config.artifacts_error}")
        merge = _time_merge(config, settings)
        promtool = _time(lambda: subprocess.run(
            ["promtool", "check", "config", str(stack.files.prometheus_yml)], capture_output=True, check=True))
        amtool = _time(lambda: subprocess.run(
            ["amtool", "check-config", str(stack.files.alertmanager_yml)], capture_output=True, check=True))
        prom_reload = _time(lambda: requests.post(f"{stack.prometheus_url}/-/reload", timeout=60).raise_for_status())
        am_reload = _time(lambda: requests.post(f"{stack.alertmanager_url}/-/reload", timeout=60).raise_for_status())
        durations.sort()
        prom_kb = stack.files.prometheus_yml.stat().st_size // 1024
        am_kb = stack.files.alertmanager_yml.stat().st_size // 1024
        median = _median(durations)
        previous[size] = median
        print(
            f"{size:>8} {median:>17.3f}s {durations[int(0.9 * (len(durations) - 1))]:>7.3f}s {merge:>7.3f}s "
            f"{promtool:>11.3f}s {amtool:>7.3f}s {prom_reload:>10.3f}s {am_reload:>8.3f}s "
            f"{prom_kb:>7}KB {am_kb:>6}KB"
            f"  (initial publish of all: {setup:.2f}s)",
            flush=True,
        )
    if 1 in previous and 1000 in previous:
        print(f"growth 1 -> 1000 configs: x{previous[1000] / previous[1]:.1f} for x1000 configs; "
              f"goal: median <= 2 s at 1,000 configs -> {'met' if previous[1000] <= 2 else 'NOT met'}")


def _time_merge(config, settings) -> float:
    """Time of rendering + merging one service into the live files (no I/O to Prometheus)."""
    from artifacts.renderers.context import RenderContext
    from artifacts.services import plg_updates
    from ixnode.integrations.plg.client import LocalPlgHost

    ctx = RenderContext.from_settings()
    existing = set(type(config).objects.values_list("service_name", flat=True))
    started = time.perf_counter()
    plg_updates(
        LocalPlgHost(), ctx, publish_configs={config.service_name: config}, enabled_services=existing,
        existing_services=existing,
    )
    return time.perf_counter() - started
