"""Fault injection: every failed run rolls back what it created, says what failed and what was undone, starts the
cooldown, and leaves nothing behind in vCenter, the F5 pool, the targets file or the IP leases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from autoscaling.choices import NetworkMode
from autoscaling.models import CooldownState, ManagedVM
from events.choices import Decision, EventStatus, ScaleAction, StageStatus
from events.models import ScaleEvent

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.fixtures.pipeline_env"]
ROOT = Path(__file__).resolve().parents[2]


def decide(world, action=ScaleAction.SCALE_OUT):
    from autoscaling.services.decisions import scale_decision_record

    event = scale_decision_record(config=world.config, action=action)
    event.refresh_from_db()
    return event


def assert_rolled_back(event, failed_stage: str):
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error, event.rollback_summary)
    assert f"Stage '{failed_stage}' failed" in event.error
    statuses = dict(event.stages.values_list("name", "status"))
    assert statuses[failed_stage] == StageStatus.ROLLED_BACK
    assert StageStatus.RUNNING not in statuses.values()
    assert CooldownState.objects.get(config=event.config).last_scale_out_at is not None


def test_vcenter_clone_fault(pipeline_world, vcsim_control, q_sync):
    vcsim_control.control(
        faults=[{"op": "clone", "match": pipeline_world.config.vm_prefix, "fault": "InsufficientResourcesFault",
                 "message": "Insufficient resources in the cluster"}]
    )
    event = decide(pipeline_world)
    assert event.decision == Decision.ALLOW
    assert_rolled_back(event, "clone")
    assert "nsufficient" in event.error
    assert "released IP" in event.rollback_summary
    pipeline_world.assert_clean()


def test_f5_5xx_on_member_add(pipeline_world, q_sync):
    pipeline_world.f5.inject("POST", r"/members$", 500)
    event = decide(pipeline_world)
    assert_rolled_back(event, "f5_add")
    assert "answered HTTP 500" in event.error
    summary = event.rollback_summary
    assert "destroyed VM" in summary and "released IP" in summary and "deleted F5 node" in summary
    pipeline_world.assert_clean()


def test_f5_apache_503_page_on_member_add(pipeline_world, q_sync):
    """restjavad restarting: the BIG-IP's httpd answers its own HTML page; the run says so in words and undoes all."""
    pipeline_world.f5.inject("POST", r"/members$", 503, html=True)
    event = decide(pipeline_world)
    assert_rolled_back(event, "f5_add")
    assert "503 Service Unavailable" in event.error and "<" not in event.error
    assert "destroyed VM" in event.rollback_summary and "released IP" in event.rollback_summary
    pipeline_world.assert_clean()


def test_f5_answer_that_is_not_json_on_member_add(pipeline_world, q_sync):
    """A proxy's page answered with 200 in the device's place: a clear failure and a full rollback, not a crash."""
    pipeline_world.f5.inject("POST", r"/members$", 200, raw="<html>Please log in</html>", content_type="text/html")
    event = decide(pipeline_world)
    assert_rolled_back(event, "f5_add")
    assert "not iControl REST JSON" in event.error and "JSONDecodeError" in event.error
    assert "destroyed VM" in event.rollback_summary and "released IP" in event.rollback_summary
    pipeline_world.assert_clean()


def _foreign_vm(world, name: str) -> None:
    """Another writer (a second control plane, an operator) makes a VM of exactly that name in vCenter."""
    from ixnode.integrations.vcenter.client import vcenter_client

    vcenter_client().vm_clone(source=world.config.template.name, name=name, power_on=False)


def _assert_foreign_vm_kept(world, event, name: str) -> None:
    from autoscaling.models import IPLease

    assert_rolled_back(event, "clone")
    assert f"a VM named '{name}' already exists in vCenter but this run did not create it" in event.error
    assert f"left VM {name} alone" in event.rollback_summary and "destroyed VM" not in event.rollback_summary
    assert "released IP" in event.rollback_summary
    assert name in world.vcenter_vm_names()  # someone else's VM: never destroyed by the rollback
    assert ManagedVM.objects.get(name=name).state == "deleted"  # the run's row for it goes
    assert not IPLease.objects.filter(config=world.config, state="leased").exists()
    from ixnode.integrations.vcenter.client import vcenter_client

    vcenter_client().vm_destroy(name)
    world.assert_clean()


def test_a_vm_of_the_chosen_name_made_by_someone_else_is_not_adopted(pipeline_world, monkeypatch, q_sync):
    """The name was free when the run chose it; before the clone stage another writer made a VM of that name. The
    run must not power it on, readdress it, add it to the pool, nor destroy it when it rolls back."""
    from provisioning.stages.scale_out import AllocateIPStage

    original = AllocateIPStage.run
    made: list[str] = []

    def allocate_then_someone_else_clones(self, ctx):
        original(self, ctx)
        for vm in ctx.vms:
            _foreign_vm(pipeline_world, vm["name"])
            made.append(vm["name"])

    monkeypatch.setattr(AllocateIPStage, "run", allocate_then_someone_else_clones)
    event = decide(pipeline_world)
    assert made
    _assert_foreign_vm_kept(pipeline_world, event, made[0])


def test_duplicate_name_from_the_clone_task_leaves_the_other_vm_alone(pipeline_world, monkeypatch, q_sync):
    """The other VM appears between the run's existence check and its CloneVM_Task: vCenter answers DuplicateName
    and the rollback must not destroy the VM that holds the name."""
    from provisioning import ports

    original = ports.vm_clone
    made: list[str] = []

    def someone_else_first(ctx, *, name, ip):
        _foreign_vm(pipeline_world, name)
        made.append(name)
        return original(ctx, name=name, ip=ip)

    monkeypatch.setattr(ports, "vm_clone", someone_else_first)
    event = decide(pipeline_world)
    assert made and "already exists" in event.error
    _assert_foreign_vm_kept(pipeline_world, event, made[0])


def test_health_never_passing(pipeline_world, settings, q_sync):
    settings.IXNODE_HEALTH_TIMEOUT = 1.0
    pipeline_world.health.healthy = False
    event = decide(pipeline_world)
    assert_rolled_back(event, "health")
    assert "destroyed VM" in event.rollback_summary
    pipeline_world.assert_clean()


def test_ssh_refused(pipeline_world, vcsim_control, settings, q_sync):
    from tests.fixtures.prometheus import free_port

    config = pipeline_world.config
    config.network_mode = NetworkMode.SSH_NETPLAN
    config.save()
    vcsim_control.control(bootstrap_ips=["127.0.48.240"])  # the "DHCP" address the clone boots with
    settings.IXNODE_SSH_PORT = free_port()  # nothing listens there: connection refused
    settings.IXNODE_SSH_CONNECT_TIMEOUT = 1.0
    settings.IXNODE_SSH_BOOT_TIMEOUT = 1.0
    settings.IXNODE_VCENTER_GUEST_IP_TIMEOUT = 10.0
    event = decide(pipeline_world)
    assert_rolled_back(event, "network")
    assert "127.0.48.240" in event.error
    assert "destroyed VM" in event.rollback_summary
    pipeline_world.assert_clean()


def test_prometheus_down_at_decision_time(pipeline_world, settings, q_sync):
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    event = decide(pipeline_world)
    assert event.decision == Decision.BLOCK_UNKNOWN_COUNT and event.status == EventStatus.BLOCKED
    assert not event.stages.exists()
    pipeline_world.assert_clean()


def _subprocess_env(world, settings) -> dict:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": url,
            "IXNODE_F5_HOST": settings.IXNODE_F5_HOST,
            "IXNODE_F5_USER": settings.IXNODE_F5_USER,
            "IXNODE_F5_PASSWORD": settings.IXNODE_F5_PASSWORD,
            "IXNODE_F5_VERIFY_TLS": settings.IXNODE_F5_VERIFY_TLS,
            "IXNODE_PROMETHEUS_URL": settings.IXNODE_PROMETHEUS_URL,
            "IXNODE_PROMETHEUS_TARGETS_DIR": settings.IXNODE_PROMETHEUS_TARGETS_DIR,
            "IXNODE_PLG_MODE": "local",
            "IXNODE_PIPELINE_HEARTBEAT_SECONDS": "0.5",
        }
    )
    for key, value in world.vcsim.django_settings().items():
        env[key] = str(value)
    return env


def test_worker_killed_mid_clone(pipeline_world, vcsim_control, settings):
    """A real worker process runs the pipeline; it is SIGKILLed while vCenter clones; reconcile rolls back."""
    from autoscaling.services.decisions import scale_decision_record
    from provisioning.reconcile import pipeline_reconcile

    world = pipeline_world
    vcsim_control.control(clone_delay_ms=4000)
    settings.IXNODE_CLONE_SETTLE_SECONDS = 12.0
    # Decide without running: the run is left queued for the worker process below.
    from unittest import mock

    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):
        event = scale_decision_record(config=world.config, action=ScaleAction.SCALE_OUT)
    assert event.status == EventStatus.QUEUED

    worker = subprocess.Popen(
        [sys.executable, "-c",
         "import django; django.setup(); from provisioning.runner import run_scale_event; "
         f"run_scale_event({event.pk})"],
        cwd=ROOT, env=_subprocess_env(world, settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            event.refresh_from_db()
            vms = (event.plan.get("run") or {}).get("vms") or []
            clone_log = event.stages.filter(name="clone").values_list("log", flat=True).first() or ""
            if event.current_stage == "clone" and vms and vms[0].get("clone_started") and "cloning" in clone_log:
                break
            assert worker.poll() is None, worker.stdout.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail("the worker never reached the clone stage")
        time.sleep(1.5)  # the CloneVM_Task is now running in vCenter (it takes 4 s)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stdout.close()

    event.refresh_from_db()
    assert event.status == EventStatus.RUNNING  # dead, but nobody knows yet
    vm_name = event.plan["run"]["vms"][0]["name"]

    report = pipeline_reconcile()
    assert report.rolled_back == [event.pk], report
    event.refresh_from_db()
    assert event.status == EventStatus.ROLLED_BACK, (event.error, event.rollback_summary)
    assert "worker" in event.error and "died" in event.error
    assert f"destroyed VM {vm_name}" in event.rollback_summary
    assert dict(event.stages.values_list("name", "status"))["clone"] == StageStatus.ROLLED_BACK
    assert ManagedVM.objects.get(name=vm_name).state == "deleted"
    time.sleep(1.0)  # nothing shows up late
    world.assert_clean()
    assert pipeline_reconcile().rolled_back == []
    assert ScaleEvent.objects.filter(status=EventStatus.RUNNING).count() == 0


def test_crash_outside_a_stage_rolls_back(pipeline_world, monkeypatch, q_sync):
    """A database error recording "clone succeeded" escapes the runner's per-stage try: the task's crash
    handler rolls back the VM the clone created (and the lease) before it finishes the run."""
    from django.db import OperationalError

    from provisioning.runner import Runner

    original = Runner._mark
    crashed = []

    def flaky_mark(self, row, status, **fields):
        if row.name == "clone" and status == StageStatus.SUCCEEDED and not crashed:
            crashed.append(self.ours_before_crash())
            raise OperationalError("database is locked")
        return original(self, row, status, **fields)

    monkeypatch.setattr(Runner, "_mark", flaky_mark)
    monkeypatch.setattr(Runner, "ours_before_crash", lambda self: pipeline_world.ours(), raising=False)
    event = decide(pipeline_world)
    assert crashed and crashed[0], "the clone stage should have created a VM before the crash"
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error, event.rollback_summary)
    assert "The run crashed: OperationalError: database is locked" in event.error
    assert "destroyed VM" in event.rollback_summary and "released IP" in event.rollback_summary
    statuses = dict(event.stages.values_list("name", "status"))
    assert StageStatus.RUNNING not in statuses.values()
    assert CooldownState.objects.get(config=event.config).last_scale_out_at is not None
    pipeline_world.assert_clean()


def _pool_is_the_base_vms(world):
    """Shrink the pool to the base VMs' addresses: no lease, but every address is a Prometheus target."""
    from autoscaling.models import AutoscalingConfig

    AutoscalingConfig.objects.filter(pk=world.config.pk).update(ip_pool_start="127.0.48.11",
                                                                ip_pool_end="127.0.48.12")
    world.config.refresh_from_db()


def test_pool_full_of_base_vm_targets_blocks_with_ip_pool(pipeline_world, q_sync):
    _pool_is_the_base_vms(pipeline_world)
    event = decide(pipeline_world)
    assert event.decision == Decision.BLOCK_IP_POOL, (event.decision, event.reason)
    assert event.status == EventStatus.BLOCKED and not event.stages.exists()
    from notifications.models import SentNotification

    assert SentNotification.objects.filter(kind="ip_pool_exhausted").exists()
    pipeline_world.assert_clean()


def test_pool_exhausted_at_run_time_says_so_and_notifies(pipeline_world, monkeypatch, q_sync):
    """The decision counted a free address that is gone when the run allocates: the run ends with an error
    saying the pool is exhausted, and the ip_pool_exhausted notification is recorded."""
    from autoscaling.services import decisions
    from autoscaling.services.ip_leases import PoolFree
    from notifications.models import SentNotification

    _pool_is_the_base_vms(pipeline_world)
    monkeypatch.setattr(decisions, "ip_pool_free_count", lambda *, config, **kwargs: PoolFree(1))
    event = decide(pipeline_world)
    assert event.decision == Decision.ALLOW
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error)
    assert "Stage 'allocate_ip' failed: IP pool exhausted:" in event.error
    assert "2 in use (Prometheus target)" in event.error
    sent = SentNotification.objects.get(kind="ip_pool_exhausted", service_name=pipeline_world.config.service_name)
    assert "IP pool exhausted" in sent.text
    pipeline_world.assert_clean()
