"""Warm pool against vcsim, the F5 double and a real Prometheus: a scale-in keeps VMs powered off (with their
address) up to ``warm_pool_size``, a scale-out powers them on instead of cloning, and a failed run gives a
healthy warm VM back to the pool but destroys one that never passed its health check."""

from __future__ import annotations

import pytest

from autoscaling.choices import ManagedVMState
from autoscaling.models import IPLease, ManagedVM
from events.choices import EventStatus, ScaleAction

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.fixtures.pipeline_env"]
OUT, IN = ScaleAction.SCALE_OUT, ScaleAction.SCALE_IN


def decide(world, action):
    from autoscaling.services.decisions import scale_decision_record

    event = scale_decision_record(config=world.config, action=action)
    event.refresh_from_db()
    return event


def power_state(name: str) -> str:
    from ixnode.integrations.vcenter.client import vcenter_client

    return vcenter_client().vm_get(name).power_state


def leased(config) -> set[str]:
    return set(IPLease.objects.filter(config=config, state="leased").values_list("ip_address", flat=True))


def warm_world(world, *, pool: int, step: int):
    config = world.config
    config.cooldown_seconds = 0
    config.scale_out_step = step
    config.scale_in_step = step
    config.warm_pool_size = pool
    config.full_clean()
    config.save()
    return config


def scale_out_then_in(world, *, vms: int) -> tuple[ManagedVM, set[str]]:
    out = decide(world, OUT)
    assert out.status == EventStatus.SUCCEEDED, (out.error, out.rollback_summary)
    world.prometheus.wait_for_targets(world.job, 2 + vms)
    inn = decide(world, IN)
    assert inn.status == EventStatus.SUCCEEDED, (inn.error, inn.rollback_summary)
    world.prometheus.wait_for_targets(world.job, 2)
    return ManagedVM.objects.get(config=world.config, state=ManagedVMState.WARM), set(out.vm_names)


def test_scale_in_keeps_up_to_the_pool_size_and_scale_out_powers_them_on(pipeline_world, q_sync):
    world = pipeline_world
    config = warm_world(world, pool=1, step=2)
    warm, first = scale_out_then_in(world, vms=2)

    # one of the two kept powered off with its address; the other destroyed and its address released
    assert warm.name in first
    (gone,) = first - {warm.name}
    assert ManagedVM.objects.get(name=gone).state == ManagedVMState.DELETED
    assert world.ours() == {warm.name}
    assert power_state(warm.name) == "poweredOff"
    assert leased(config) == {warm.ip_address}
    assert world.f5.member_names(config.f5_pool_name) == world.base_members()
    assert sorted(world.targets()) == sorted(world.base_targets())
    inn = config.events.filter(action=IN).latest("pk")
    assert f"kept {warm.name} powered off for the warm pool" in inn.stages.get(name="destroy").log
    assert f"in the warm pool (powered off): {warm.name}" in inn.stages.get(name="complete").log
    assert "stays leased" in inn.stages.get(name="release_ip").log
    assert "agents kept" in inn.stages.get(name="monitoring_remove").log

    # the next scale-out takes the warm VM (same name and address, no clone) and clones only the second one
    out = decide(world, OUT)
    assert out.status == EventStatus.SUCCEEDED, (out.error, out.rollback_summary)
    assert warm.name in out.vm_names and len(out.vm_names) == 2
    assert f"took {warm.name} ({warm.ip_address}) from the warm pool" in out.stages.get(name="allocate_ip").log
    clone_log = out.stages.get(name="clone").log
    assert f"→ {warm.name}" not in clone_log and clone_log.count("cloning") == 1
    assert "(warm pool)" in out.stages.get(name="network").log
    assert power_state(warm.name) == "poweredOn"
    row = ManagedVM.objects.get(name=warm.name)
    assert row.state == ManagedVMState.IN_SERVICE and row.ip_address == warm.ip_address and row.in_service_at
    assert f"{warm.ip_address}:{config.f5_vip_port}" in world.f5.member_names(config.f5_pool_name)
    world.prometheus.wait_for_targets(world.job, 4)
    assert f"{warm.ip_address}:{config.node_exporter_port}" in world.targets()
    assert len(leased(config)) == 2

    # with the pool turned off the next scale-in destroys everything it picks
    config.warm_pool_size = 0
    config.save()
    last = decide(world, IN)
    assert last.status == EventStatus.SUCCEEDED, last.error
    assert not ManagedVM.objects.filter(config=config, state=ManagedVMState.WARM).exists()
    world.assert_clean()


def test_failed_scale_out_gives_a_healthy_warm_vm_back_to_the_pool(pipeline_world, q_sync):
    world = pipeline_world
    config = warm_world(world, pool=1, step=1)
    warm, _ = scale_out_then_in(world, vms=1)

    world.f5.inject("POST", r"/members$", 500)
    event = decide(world, OUT)
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error)
    assert "Stage 'f5_add' failed" in event.error
    assert f"returned {warm.name} to the warm pool" in event.rollback_summary
    row = ManagedVM.objects.get(name=warm.name)
    assert row.state == ManagedVMState.WARM
    assert power_state(warm.name) == "poweredOff"
    assert leased(config) == {warm.ip_address}
    assert world.ours() == {warm.name}
    assert world.f5.member_names(config.f5_pool_name) == world.base_members()
    assert sorted(world.targets()) == sorted(world.base_targets())


def test_warm_vm_that_never_gets_healthy_is_destroyed_not_pooled(pipeline_world, settings, q_sync):
    world = pipeline_world
    warm_world(world, pool=1, step=1)
    warm, _ = scale_out_then_in(world, vms=1)

    settings.IXNODE_HEALTH_TIMEOUT = 1.0
    world.health.healthy = False
    event = decide(world, OUT)
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error)
    assert "Stage 'health' failed" in event.error
    assert f"destroyed warm VM {warm.name}" in event.rollback_summary
    assert f"released IP {warm.ip_address}" in event.rollback_summary
    assert ManagedVM.objects.get(name=warm.name).state == ManagedVMState.DELETED
    world.assert_clean()


def test_trim_destroys_warm_vms_above_a_lowered_pool_size(pipeline_world, q_sync):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    world = pipeline_world
    config = warm_world(world, pool=1, step=1)
    warm, _ = scale_out_then_in(world, vms=1)

    out = StringIO()
    call_command("warm_pool_trim", config.service_name, stdout=out)  # size 1 holds 1: nothing to do
    assert "no warm VM(s) stale or above the pool size of 1" in out.getvalue()
    assert world.ours() == {warm.name}

    config.warm_pool_size = 0
    config.save()
    out = StringIO()
    call_command("warm_pool_trim", config.service_name, stdout=out)
    assert f"destroyed warm VM {warm.name}, released IP {warm.ip_address}" in out.getvalue()
    assert ManagedVM.objects.get(name=warm.name).state == ManagedVMState.DELETED
    world.assert_clean()

    with pytest.raises(CommandError, match="No autoscaling config named nope"):
        call_command("warm_pool_trim", "nope")


def test_run_failing_before_its_clone_stage_puts_the_claimed_warm_vm_back(pipeline_world, monkeypatch, q_sync):
    from autoscaling.services.configs import ConfigDeleteRefused, config_delete
    from provisioning import ports

    world = pipeline_world
    config = warm_world(world, pool=1, step=2)
    warm, _ = scale_out_then_in(world, vms=2)

    def no_address(ctx, *, vm_name):
        raise RuntimeError("address allocation broke")

    monkeypatch.setattr(ports, "lease_allocate", no_address)
    event = decide(world, OUT)  # takes the warm VM, then fails leasing an address for the second VM
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error)
    assert "Stage 'allocate_ip' failed" in event.error
    assert f"returned {warm.name} to the warm pool" in event.rollback_summary
    assert ManagedVM.objects.get(name=warm.name).state == ManagedVMState.WARM
    assert power_state(warm.name) == "poweredOff"
    assert leased(config) == {warm.ip_address} and world.ours() == {warm.name}

    # a config whose warm pool still holds VMs cannot be deleted, and the refusal says how to empty it
    with pytest.raises(ConfigDeleteRefused, match="waiting in the warm pool .*warm_pool_trim"):
        config_delete(config=config)


def test_clone_failure_in_a_mixed_run_keeps_the_untouched_warm_vm(pipeline_world, vcsim_control, q_sync):
    world = pipeline_world
    config = warm_world(world, pool=1, step=2)
    warm, _ = scale_out_then_in(world, vms=2)
    vcsim_control.control(faults=[{"op": "clone", "match": config.vm_prefix, "fault": "InsufficientResourcesFault",
                                   "message": "Insufficient resources in the cluster"}])
    event = decide(world, OUT)  # the warm VM + one clone; the clone fails
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error)
    assert "Stage 'clone' failed" in event.error
    assert f"returned {warm.name} to the warm pool" in event.rollback_summary
    assert ManagedVM.objects.get(name=warm.name).state == ManagedVMState.WARM
    assert power_state(warm.name) == "poweredOff"
    assert leased(config) == {warm.ip_address} and world.ours() == {warm.name}


def test_a_failing_warm_vm_rollback_does_not_leak_the_clone(pipeline_world, monkeypatch, q_sync):
    """The warm VM cannot be shut down during the rollback: the clone is still destroyed and its address
    released, the run is marked failed, and the drift report shows the warm VM stuck."""
    from provisioning import ports
    from provisioning.drift import drift_report

    world = pipeline_world
    config = warm_world(world, pool=1, step=2)
    warm, _ = scale_out_then_in(world, vms=2)
    original = ports.vm_shutdown

    def shutdown(ctx, *, name, timeout):
        if name == warm.name:
            raise RuntimeError("vCenter refused the guest shutdown")
        return original(ctx, name=name, timeout=timeout)

    monkeypatch.setattr(ports, "vm_shutdown", shutdown)
    world.f5.inject("POST", r"/members$", 500)
    event = decide(world, OUT)
    assert event.status == EventStatus.FAILED, (event.status, event.error, event.rollback_summary)
    assert "rollback of clone FAILED: vCenter refused the guest shutdown" in event.rollback_summary
    (clone,) = set(event.vm_names) - {warm.name}
    assert f"destroyed VM {clone}" in event.rollback_summary
    assert world.ours() == {warm.name}  # the clone is gone
    assert leased(config) == {warm.ip_address}  # its address released, the warm VM's kept
    report = drift_report(config=config)
    assert [(f.kind, f.subject) for f in report.findings if f.kind == "managed_vm_stuck"] == [
        ("managed_vm_stuck", warm.name)]


def test_trim_waits_for_runs_and_stale_warm_vms_are_never_handed_out(pipeline_world, q_sync):
    from io import StringIO

    from django.core.management import call_command

    from autoscaling.services.warm_pool import WarmPoolBusy, warm_pool_trim
    from events.models import ScaleEvent

    world = pipeline_world
    config = warm_world(world, pool=1, step=1)
    warm, _ = scale_out_then_in(world, vms=1)

    # a run in flight: no trim (it might be about to take or return a warm VM)
    running = ScaleEvent.objects.create(config=config, service_name=config.service_name, action=OUT,
                                        decision="ALLOW", status=EventStatus.RUNNING)
    with pytest.raises(WarmPoolBusy, match=f"run #{running.pk}"):
        warm_pool_trim(config=config)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("warm_pool_trim", config.service_name, stdout=out)
    assert exit_info.value.code == 1 and "not trimmed: run #" in out.getvalue()
    ScaleEvent.objects.filter(pk=running.pk).update(status=EventStatus.SUCCEEDED)

    # the network settings changed: the warm VM is stale, a scale-out clones instead of taking it
    config.dns_servers = "127.0.0.53"
    config.save()
    event = decide(world, OUT)
    assert event.status == EventStatus.SUCCEEDED, (event.error, event.rollback_summary)
    assert warm.name not in event.vm_names and "from the warm pool" not in event.stages.get(name="allocate_ip").log
    assert ManagedVM.objects.get(name=warm.name).state == ManagedVMState.WARM
    lines = warm_pool_trim(config=config)
    assert lines == [f"destroyed warm VM {warm.name} (stale: prepared with another template or network settings), "
                     f"released IP {warm.ip_address}"]
    assert world.ours() == set(event.vm_names)


def test_step_by_step_runs_take_and_keep_warm_vms(pipeline_world, monkeypatch, q_sync):
    """The Jenkins executor runs one stage per call (``run_one_step``, a fresh context each time): the warm VM
    is taken from the plan across steps, and a scale-in abandoned after its destroy stage puts the VM it was
    keeping back in service, never in the pool."""
    from autoscaling.services import decisions
    from provisioning.runner import rollback_scale_event, run_one_step
    from provisioning.stages import stage_names

    world = pipeline_world
    config = warm_world(world, pool=1, step=2)
    warm, _ = scale_out_then_in(world, vms=2)
    monkeypatch.setattr(decisions, "scale_event_enqueue", lambda event: None)  # the steps are driven here

    out = decide(world, OUT)
    assert out.status == EventStatus.QUEUED
    for step in stage_names(OUT):
        ok, out = run_one_step(out.pk, step)
        assert ok, (step, out.error)
    assert out.status == EventStatus.SUCCEEDED and warm.name in out.vm_names
    assert ManagedVM.objects.get(name=warm.name).state == ManagedVMState.IN_SERVICE
    world.prometheus.wait_for_targets(world.job, 4)

    inn = decide(world, IN)
    names = stage_names(IN)
    for step in names[: names.index("destroy") + 1]:
        ok, inn = run_one_step(inn.pk, step)
        assert ok, (step, inn.error)
    kept = [vm["name"] for vm in inn.plan["run"]["vms"] if vm.get("to_warm_pool")]
    assert len(kept) == 1 and ManagedVM.objects.get(name=kept[0]).state == ManagedVMState.DRAINING
    inn = rollback_scale_event(inn.pk, reason="build aborted")
    assert inn.status == EventStatus.FAILED  # the destroyed one cannot come back; the kept one can
    row = ManagedVM.objects.get(name=kept[0])
    assert row.state == ManagedVMState.IN_SERVICE and power_state(kept[0]) == "poweredOn"
    assert f"{row.ip_address}:{config.node_exporter_port}" in world.targets()
    assert not ManagedVM.objects.filter(config=config, state=ManagedVMState.WARM).exists()
