"""The reference scenario (2 → 4 VMs on CPU, back to 2) end to end with the embedded executor: vcsim, the F5
double, a real Prometheus (timings shortened).

Base VMs 1 and 2 are static targets; min 2, max 4, step 1. Scale-out alerts create VM 3, then (after the
cooldown) VM 4, then BLOCK_MAX; scale-in alerts remove VM 4 then VM 3, then BLOCK_MIN. Afterwards vcsim holds
exactly the VMs it started with, the F5 pool exactly the two base members, the targets file two targets, and
no IP lease is held. Alerts arrive through the Alertmanager webhook; runs go through django-q2's task.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from autoscaling.choices import ManagedVMState
from autoscaling.models import AutoscalingConfig, CooldownState, ManagedVM
from events.choices import Decision, EventStatus, ScaleAction, StageStatus
from events.models import ScaleEvent

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.fixtures.pipeline_env"]


REPEAT_INTERVAL = 1  # Alertmanager's repeat interval, shortened like the cooldown (2 s)
_last_sent: dict = {}


def decide(world, action):
    """What Alertmanager does: POST a v4 notification with one firing alert to the service's webhook — the same
    alert instance each time, re-sent no sooner than its repeat interval (anything sooner is a re-delivery,
    answered with the standing decision). Like Alertmanager's notification log, the interval runs from when the
    previous notification was answered, not from when it was sent: the decision is recorded after the count is
    read, so a clock started at the send could let a loaded machine repeat inside the re-delivery window."""
    from django.test import Client

    wait = _last_sent.get((world.config.pk, str(action)), 0) + REPEAT_INTERVAL - time.monotonic()
    if wait > 0:
        time.sleep(wait)

    body = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{world.config.service_name}-{action}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": f"ixnode-{world.config.service_name}",
        "groupLabels": {"alertname": f"{world.config.service_name}-{action}"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": f"{world.config.service_name}-{action}", "autoscale": str(action)},
                "annotations": {},
                "startsAt": "2026-01-01T00:06:00.000Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://127.0.0.1:9090/graph",
                "fingerprint": f"{abs(hash((world.config.service_name, str(action)))):016x}"[:16],
            }
        ],
    }
    response = Client().post(
        f"/api/webhook/autoscale/{world.config.service_name}",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.IXNODE_WEBHOOK_TOKEN}",
    )
    _last_sent[(world.config.pk, str(action))] = time.monotonic()
    assert response.status_code == 200, response.content
    decisions = response.json()["decisions"]
    assert len(decisions) == 1 and decisions[0]["action"] == str(action)
    return ScaleEvent.objects.get(pk=decisions[0]["event_id"])


def wait_cooldown(world):
    time.sleep(world.config.cooldown_seconds + 0.2)


def test_seed_13_2_scenario(pipeline_world, q_sync):
    world = pipeline_world
    AutoscalingConfig.objects.filter(pk=world.config.pk).update(alert_repeat_interval_seconds=REPEAT_INTERVAL)
    prefix = world.config.vm_prefix

    # VM 3
    out1 = decide(world, ScaleAction.SCALE_OUT)
    assert (out1.decision, out1.status) == (Decision.ALLOW, EventStatus.SUCCEEDED), (out1.error, out1.reason)
    assert out1.before_count == 2 and out1.after_count == 3
    vm3 = out1.vm_names[0]
    assert vm3.startswith(prefix + "-") and len(vm3) == len(prefix) + 15
    stages = list(out1.stages.values_list("name", "status"))
    assert [name for name, _ in stages] == [
        "allocate_ip", "clone", "power_on", "network", "health", "f5_add", "target_add", "complete"
    ]
    assert all(status == StageStatus.SUCCEEDED for _, status in stages)
    assert out1.stages.get(name="clone").log
    assert world.ours() == {vm3}
    ip3 = ManagedVM.objects.get(name=vm3).ip_address
    member3 = f"{ip3}:{world.config.f5_vip_port}"
    assert world.f5.member_names(world.config.f5_pool_name) == world.base_members() | {member3}
    assert CooldownState.objects.get(config=world.config).last_scale_out_at is not None
    # the repeated alert inside the cooldown is blocked
    blocked = decide(world, ScaleAction.SCALE_OUT)
    assert blocked.decision == Decision.BLOCK_COOLDOWN, blocked.reason
    world.prometheus.wait_for_targets(world.job, 3)

    # VM 4 after the cooldown
    wait_cooldown(world)
    out2 = decide(world, ScaleAction.SCALE_OUT)
    assert (out2.decision, out2.status) == (Decision.ALLOW, EventStatus.SUCCEEDED), (out2.error, out2.reason)
    vm4 = out2.vm_names[0]
    assert vm4 != vm3 and world.ours() == {vm3, vm4}
    world.prometheus.wait_for_targets(world.job, 4)

    wait_cooldown(world)
    assert decide(world, ScaleAction.SCALE_OUT).decision == Decision.BLOCK_MAX

    # scale-in removes the newest (VM 4) first
    in1 = decide(world, ScaleAction.SCALE_IN)
    assert (in1.decision, in1.status) == (Decision.ALLOW, EventStatus.SUCCEEDED), (in1.error, in1.reason)
    assert in1.vm_names == [vm4] and in1.after_count == 3
    assert list(in1.stages.values_list("name", flat=True)) == [
        "pick_vms", "f5_disable", "f5_drain", "f5_remove", "monitoring_remove", "target_remove", "shutdown",
        "destroy", "release_ip", "complete",
    ]
    assert "no agents installed by us" in in1.stages.get(name="monitoring_remove").log
    assert world.ours() == {vm3}
    world.prometheus.wait_for_targets(world.job, 3)

    wait_cooldown(world)
    in2 = decide(world, ScaleAction.SCALE_IN)
    assert (in2.decision, in2.status) == (Decision.ALLOW, EventStatus.SUCCEEDED), (in2.error, in2.reason)
    assert in2.vm_names == [vm3]
    world.prometheus.wait_for_targets(world.job, 2)

    wait_cooldown(world)
    assert decide(world, ScaleAction.SCALE_IN).decision == Decision.BLOCK_MIN

    world.assert_clean()
    assert set(ManagedVM.objects.filter(config=world.config).values_list("state", flat=True)) == {
        ManagedVMState.DELETED
    }
