"""Pipeline runs beyond the seed scenario: parallel step > 1, scale-in choice, idempotent steps, reconcile."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from autoscaling.choices import ManagedVMState, ScaleInOrder
from autoscaling.managed_vms import managed_vm_names_new
from autoscaling.models import CooldownState, ManagedVM
from events.choices import EventStatus, ScaleAction, StageStatus
from events.models import ScaleEvent

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.fixtures.pipeline_env"]


def decide(world, action):
    from autoscaling.services.decisions import scale_decision_record

    event = scale_decision_record(config=world.config, action=action)
    event.refresh_from_db()
    return event


def test_names_unique_within_one_second():
    taken = {"web-20260101000000"}
    names = managed_vm_names_new("web", 3, taken, now=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    assert names == ["web-20260101000000-2", "web-20260101000000-3", "web-20260101000000-4"]


def test_step_two_clones_in_parallel_then_scale_in_choice(pipeline_world, q_sync, settings):
    world = pipeline_world
    config = world.config
    config.scale_out_step = 2
    config.scale_in_step = 1
    config.cooldown_seconds = 0
    config.save()

    out = decide(world, ScaleAction.SCALE_OUT)
    assert out.status == EventStatus.SUCCEEDED, (out.error, out.rollback_summary)
    assert out.requested_count == 2 and len(out.vm_names) == 2 and len(set(out.vm_names)) == 2
    assert world.ours() == set(out.vm_names)
    assert len(world.f5.member_names(config.f5_pool_name)) == 4
    world.prometheus.wait_for_targets(world.job, 4)
    first, second = sorted(out.vm_names)  # same second: base name and -2 (or consecutive seconds)
    older = ManagedVM.objects.get(name=second).created_at - datetime.timedelta(seconds=5)
    ManagedVM.objects.filter(name=first).update(created_at=older)

    # oldest-first per config, protected VMs skipped
    config.scale_in_order = ScaleInOrder.OLDEST_FIRST
    config.save()
    ManagedVM.objects.filter(name=first).update(scale_in_protected=True)
    inn = decide(world, ScaleAction.SCALE_IN)
    assert inn.status == EventStatus.SUCCEEDED, (inn.error, inn.rollback_summary)
    assert inn.vm_names == [second]
    assert world.ours() == {first}

    # the protected one is never picked: the run fails cleanly and puts nothing out of service
    world.prometheus.wait_for_targets(world.job, 3)
    blocked = decide(world, ScaleAction.SCALE_IN)
    assert blocked.status == EventStatus.ROLLED_BACK
    assert "only VMs the autoscaler created" in blocked.error
    assert ManagedVM.objects.get(name=first).state == ManagedVMState.IN_SERVICE
    assert world.ours() == {first}

    ManagedVM.objects.filter(name=first).update(scale_in_protected=False)
    last = decide(world, ScaleAction.SCALE_IN)
    assert last.status == EventStatus.SUCCEEDED, last.error
    world.assert_clean()


def test_pipeline_step_command_runs_stages_one_by_one(pipeline_world):
    from unittest import mock

    from autoscaling.services.decisions import scale_decision_record
    from provisioning.stages import stage_names

    world = pipeline_world
    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):
        event = scale_decision_record(config=world.config, action=ScaleAction.SCALE_OUT)
    with pytest.raises(CommandError, match="cannot run before allocate_ip"):
        call_command("pipeline_step", "--run", event.pk, "--step", "clone")
    with pytest.raises(CommandError, match="Unknown step"):
        call_command("pipeline_step", "--run", event.pk, "--step", "nope")
    for name in stage_names(ScaleAction.SCALE_OUT):
        call_command("pipeline_step", "--run", event.pk, "--step", name)
        # idempotent: running a finished step again changes nothing
        call_command("pipeline_step", "--run", event.pk, "--step", name)
    event.refresh_from_db()
    assert event.status == EventStatus.SUCCEEDED
    assert len(world.ours()) == 1
    assert set(event.stages.values_list("status", flat=True)) == {StageStatus.SUCCEEDED}

    # scale-in through the aliases a generated Jenkins job uses
    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):
        world.config.cooldown_seconds = 0
        world.config.save()
        world.prometheus.wait_for_targets(world.job, 3)
        event = scale_decision_record(config=world.config, action=ScaleAction.SCALE_IN)
    for alias in ("select-vm", "f5-remove-member", "remove-agents", "prometheus-remove-target", "power-off",
                  "destroy-vm", "release-ip", "complete"):
        call_command("pipeline_step", "--run", event.pk, "--step", alias)
    event.refresh_from_db()
    assert event.status == EventStatus.SUCCEEDED
    world.assert_clean()


def test_pipeline_step_failure_rolls_back_and_exits_nonzero(pipeline_world):
    from unittest import mock

    from autoscaling.services.decisions import scale_decision_record

    world = pipeline_world
    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):
        event = scale_decision_record(config=world.config, action=ScaleAction.SCALE_OUT)
    for name in ("allocate_ip", "clone", "power_on", "network", "health"):
        call_command("pipeline_step", "--run", event.pk, "--step", name)
    world.f5.inject("POST", r"/members$", 503)
    with pytest.raises(CommandError, match="Step 'f5_add' of run .* failed; the run is rolled_back"):
        call_command("pipeline_step", "--run", event.pk, "--step", "f5_add")
    world.assert_clean()
    with pytest.raises(CommandError):
        call_command("pipeline_step", "--run", event.pk, "--step", "target_add")


def test_ensure_schedules_and_queued_timeout(pipeline_world, settings):
    from unittest import mock

    from django_q.models import Schedule

    from autoscaling.services.decisions import scale_decision_record

    call_command("ensure_schedules")
    call_command("ensure_schedules", "--no-reconcile")
    schedule = Schedule.objects.get(name="ixnode-pipelines-reconcile")
    assert schedule.func == "provisioning.tasks.pipeline_reconcile_task"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.repeats == -1

    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):
        event = scale_decision_record(config=pipeline_world.config, action=ScaleAction.SCALE_OUT)
    settings.IXNODE_PIPELINE_QUEUED_TIMEOUT = 0
    from provisioning.tasks import pipeline_reconcile_task

    assert pipeline_reconcile_task()["failed_queued"] == [event.pk]
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED and "never started" in event.error
    assert ScaleEvent.objects.filter(status__in=["queued", "running"]).count() == 0


def _scaled_out(world):
    world.config.cooldown_seconds = 0
    world.config.save()
    out = decide(world, ScaleAction.SCALE_OUT)
    assert out.status == EventStatus.SUCCEEDED, out.error
    world.prometheus.wait_for_targets(world.job, 3)
    return out.vm_names[0], ManagedVM.objects.get(name=out.vm_names[0]).ip_address


def test_scale_in_failure_puts_the_vm_back_in_service(pipeline_world, q_sync):
    world = pipeline_world
    name, ip = _scaled_out(world)
    port = world.config.f5_vip_port
    world.f5.inject("DELETE", rf"/members/~Common~{ip}:{port}$", 503)
    event = decide(world, ScaleAction.SCALE_IN)
    assert event.status == EventStatus.ROLLED_BACK, (event.error, event.rollback_summary)
    assert "Stage 'f5_remove' failed" in event.error and "503" in event.error
    assert f"re-enabled F5 member {ip}:{port}" in event.rollback_summary
    assert world.f5.member(world.config.f5_pool_name, ip, port)["session"] == "monitor-enabled"
    assert ManagedVM.objects.get(name=name).state == ManagedVMState.IN_SERVICE
    assert world.ours() == {name} and f"{ip}:9100" in world.targets()
    assert CooldownState.objects.get(config=world.config).last_scale_in_at is not None

    # the next attempt removes it
    done = decide(world, ScaleAction.SCALE_IN)
    assert done.status == EventStatus.SUCCEEDED, done.error
    world.assert_clean()


def test_scale_in_drain_timeout_and_hung_guest(pipeline_world, vcsim_control, settings, q_sync):
    world = pipeline_world
    name, ip = _scaled_out(world)
    world.f5.set_connections(world.config.f5_pool_name, ip, world.config.f5_vip_port, 4)
    settings.IXNODE_F5_DRAIN_TIMEOUT = 0.3
    settings.IXNODE_GUEST_SHUTDOWN_TIMEOUT = 0.5
    vcsim_control.control(shutdown_delay_ms=-1)  # the guest never stops by itself
    event = decide(world, ScaleAction.SCALE_IN)
    assert event.status == EventStatus.SUCCEEDED, event.error
    assert "still has 4 connection(s)" in event.stages.get(name="f5_drain").log
    assert "stopped by power_off" in event.stages.get(name="shutdown").log
    world.assert_clean()


def test_reconcile_stale_heartbeat_of_another_host(pipeline_world, settings):
    import datetime as dt
    from unittest import mock

    from django.utils import timezone

    from autoscaling.services.decisions import scale_decision_record
    from autoscaling.services.runs import scale_event_start
    from provisioning.reconcile import pipeline_reconcile
    from provisioning.runner import Runner

    world = pipeline_world
    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):
        event = scale_decision_record(config=world.config, action=ScaleAction.SCALE_OUT)
    event = scale_event_start(event=event)
    runner = Runner(ScaleEvent.objects.select_related("config__template").get(pk=event.pk))
    runner.ensure_stage_rows()
    assert runner.run_stage(runner.stages[0])  # allocate_ip: a lease is held
    plan = ScaleEvent.objects.get(pk=event.pk).plan
    plan["run"]["worker"] = {"host": "another-host", "pid": 1}
    ScaleEvent.objects.filter(pk=event.pk).update(plan=plan, heartbeat_at=timezone.now())
    assert pipeline_reconcile().rolled_back == []  # alive as far as anyone can tell
    settings.IXNODE_PIPELINE_STALE_SECONDS = 30
    ScaleEvent.objects.filter(pk=event.pk).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=31))
    assert pipeline_reconcile().rolled_back == [event.pk]
    event.refresh_from_db()
    assert event.status == EventStatus.ROLLED_BACK and "no heartbeat for" in event.error
    world.assert_clean()


def test_a_run_is_never_executed_twice(pipeline_world):
    from unittest import mock

    from autoscaling.services.decisions import scale_decision_record
    from autoscaling.services.runs import scale_event_start
    from provisioning.runner import run_scale_event

    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):
        event = scale_decision_record(config=pipeline_world.config, action=ScaleAction.SCALE_OUT)
    scale_event_start(event=event)  # another worker took it
    again = run_scale_event(event.pk)  # the redelivered task
    assert again.status == EventStatus.RUNNING and not again.stages.exists()
    assert pipeline_world.ours() == set()
    ScaleEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED)


def test_scale_in_release_failure_after_destroy_rolls_forward(pipeline_world, monkeypatch, q_sync):
    """release_ip fails after the VM was destroyed: the failure path releases the lease (roll forward), so no
    lease of a VM that no longer exists is left behind."""
    from autoscaling.models import IPLease
    from provisioning import ports

    world = pipeline_world
    name, ip = _scaled_out(world)
    original = ports.lease_release
    calls = []

    def flaky_release(ctx, *, lease_id):
        calls.append(lease_id)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return original(ctx, lease_id=lease_id)

    monkeypatch.setattr(ports, "lease_release", flaky_release)
    event = decide(world, ScaleAction.SCALE_IN)
    assert event.status == EventStatus.FAILED, (event.status, event.error)  # a destroyed VM cannot come back
    assert "Stage 'release_ip' failed" in event.error
    assert f"released IP {ip} of destroyed VM {name}" in event.rollback_summary
    assert not IPLease.objects.filter(ip_address=ip, state="leased").exists()
    assert ManagedVM.objects.get(name=name).state == ManagedVMState.DELETED
    world.assert_clean()


def test_lost_embedded_task_fails_after_the_embedded_queued_timeout(pipeline_world, settings):
    """A queued run whose django-q2 task was lost blocks the service only for the (short) embedded timeout;
    a run handed to Jenkins keeps the long queue timeout (it may be waiting for an agent)."""
    from unittest import mock

    from autoscaling.services.decisions import scale_decision_record
    from provisioning.reconcile import pipeline_reconcile

    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):  # the task is never queued
        event = scale_decision_record(config=pipeline_world.config, action=ScaleAction.SCALE_OUT)
    later = event.created_at + datetime.timedelta(seconds=301)
    assert settings.IXNODE_PIPELINE_QUEUED_TIMEOUT == 3600 and settings.IXNODE_PIPELINE_EMBEDDED_QUEUED_TIMEOUT == 300
    ScaleEvent.objects.filter(pk=event.pk).update(executor="jenkins")
    assert pipeline_reconcile(now=later).failed_queued == []
    ScaleEvent.objects.filter(pk=event.pk).update(executor="")
    # every worker busy with a run (here 1 of 1): the queued run is waiting for it, not lost
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 1}
    busy = ScaleEvent.objects.create(config=None, service_name="another-service", action=ScaleAction.SCALE_IN,
                                     decision="ALLOW", status=EventStatus.RUNNING, executor="embedded",
                                     started_at=later, heartbeat_at=later)
    report = pipeline_reconcile(now=later)
    assert report.failed_queued == [] and report.rolled_back == []
    ScaleEvent.objects.filter(pk=busy.pk).update(status=EventStatus.SUCCEEDED)
    assert pipeline_reconcile(now=later).failed_queued == [event.pk]
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED and "never started within 300s" in event.error
