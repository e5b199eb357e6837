"""Pipeline overhead against vcsim and the F5 double: what the engine itself costs per scale-out / scale-in.

overhead = wall time of a run − time spent waiting on vCenter, F5, SSH and the health check (measured around
every external call, ``RunContext.waited_seconds``). Runs with one VM, so no waits overlap. Then a scale-out
of 4 VMs at once (parallel clones) against 4 runs of one, with vcsim's clone taking ``CLONE_DELAY`` seconds
as a stand-in for a real clone. Goals (issue 4): overhead ≤ 1 s per run; 4 parallel clones ≤ 1.5× one clone.
Last, with a warm pool of 1: a scale-out that powers on a VM the previous scale-in kept, against a cloned one.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_PIPELINE_RUNS", "5"))
CLONE_DELAY = float(os.environ.get("BENCH_CLONE_DELAY", "1.0"))


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return connection, name


def _event(config, action, count, current):
    from events.models import ScaleEvent

    return ScaleEvent.objects.create(
        config=config, service_name=config.service_name, action=action, decision="ALLOW", status="queued",
        requested_count=count, current_vm_count=current, before_count=current,
    )


def _run(event):
    from autoscaling.services.runs import scale_event_start
    from provisioning.runner import Runner

    scale_event_start(event=event)
    runner = Runner(type(event).objects.select_related("config__template").get(pk=event.pk))
    started = time.perf_counter()
    result = runner.run_all()
    total = time.perf_counter() - started
    if result.status != "succeeded":
        raise RuntimeError(f"run {event.pk} {result.status}: {result.error} / {result.rollback_summary}")
    stages = {s.name: (s.finished_at - s.started_at).total_seconds() for s in result.stages.all()}
    return total, runner.ctx.waited_seconds, stages


def run() -> None:
    from django.test.utils import override_settings

    from tests.doubles.f5 import F5Double
    from tests.fixtures.pipeline_env import POOL, HealthServers
    from tests.fixtures.vcsim import vcsim_server

    connection, db_name = _setup_django()
    from autoscaling.choices import NetworkMode
    from autoscaling.models import AutoscalingConfig
    from templates_app.models import Template

    tmp = Path(tempfile.mkdtemp(prefix="bench-pipelines-"))
    health = HealthServers(POOL)
    try:
        with vcsim_server() as vcsim, F5Double(workdir=tmp) as f5:
            f5.add_pool("bench-pool")
            overrides = dict(vcsim.django_settings())
            overrides.update(
                IXNODE_F5_HOST=f5.device, IXNODE_F5_USER=f5.username, IXNODE_F5_PASSWORD=f5.password,
                IXNODE_F5_VERIFY_TLS=str(f5.cert_path),
                IXNODE_F5_DRAIN_POLL_INTERVAL=0.05, IXNODE_PROMETHEUS_TARGETS_DIR=str(tmp), IXNODE_PLG_MODE="local",
                IXNODE_GUEST_SHUTDOWN_TIMEOUT=5.0, IXNODE_HEALTH_TIMEOUT=10.0,
                IXNODE_PIPELINE_HEARTBEAT_SECONDS=5.0,
            )
            with override_settings(**overrides):
                template = Template.objects.create(name="ubuntu-22.04-golden", source_vm_name="golden-src")
                config = AutoscalingConfig.objects.create(
                    service_name="bench", prometheus_job_name="ixnode-bench", template=template, vm_prefix="bench",
                    min_vms=1, max_vms=8, cooldown_seconds=0, ip_pool_start=POOL[0], ip_pool_end=POOL[-1],
                    gateway="127.0.48.1", subnet_cidr="127.0.48.0/24", f5_pool_name="bench-pool",
                    f5_vip_address="127.0.48.229", f5_vip_port=health.port,
                    network_mode=NetworkMode.GUEST_CUSTOMIZATION, enabled=True,
                )
                out, inn = [], []
                for _ in range(RUNS):
                    out.append(_run(_event(config, "scale-out", 1, 2)))
                    inn.append(_run(_event(config, "scale-in", 1, 3)))

                def show(label, samples):
                    totals = [t for t, _, _ in samples]
                    overheads = [t - w for t, w, _ in samples]
                    print(f"{label}: total median {statistics.median(totals):.3f} s, pipeline overhead median "
                          f"{statistics.median(overheads):.3f} s (max {max(overheads):.3f} s) over {len(samples)} runs")

                show("scale-out (1 VM)", out)
                show("scale-in  (1 VM)", inn)

                vcsim.control(clone_delay_ms=int(CLONE_DELAY * 1000))
                one = _run(_event(config, "scale-out", 1, 2))
                _run(_event(config, "scale-in", 1, 3))
                four = _run(_event(config, "scale-out", 4, 2))
                for _ in range(4):
                    _run(_event(config, "scale-in", 1, 6))
                print(f"clone delay {CLONE_DELAY:.1f} s: clone stage 1 VM {one[2]['clone']:.2f} s, 4 VMs at once "
                      f"{four[2]['clone']:.2f} s (×{four[2]['clone'] / one[2]['clone']:.2f}); whole run 1 VM "
                      f"{one[0]:.2f} s, 4 VMs {four[0]:.2f} s (×{four[0] / one[0]:.2f}; 4 runs of one ≈ "
                      f"{4 * one[0]:.2f} s)")

                # warm pool: a scale-in keeps the VM powered off, the next scale-out powers it on (no clone)
                config.warm_pool_size = 1
                config.save()
                _run(_event(config, "scale-out", 1, 2))
                warm_in = _run(_event(config, "scale-in", 1, 3))
                warm_out = _run(_event(config, "scale-out", 1, 2))
                print(f"warm pool (clone delay {CLONE_DELAY:.1f} s): scale-out from the pool {warm_out[0]:.2f} s vs "
                      f"cloned {one[0]:.2f} s (clone stage {warm_out[2]['clone']:.3f} s vs {one[2]['clone']:.2f} s; "
                      f"pipeline overhead {warm_out[0] - warm_out[1]:.3f} s); scale-in into the pool "
                      f"{warm_in[0]:.2f} s")
                config.warm_pool_size = 0
                config.save()
                _run(_event(config, "scale-in", 1, 3))
    finally:
        health.stop()
        from ixnode.integrations.vcenter.client import vcenter_sessions_close

        vcenter_sessions_close()
        connection.creation.destroy_test_db(db_name, verbosity=0)
