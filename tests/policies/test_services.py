"""Policy services against a real Prometheus: schedules, dry-run plans, suspension, alert path, API controls."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from autoscaling.models import IPLease, ManagedVM
from autoscaling.services.decisions import DecisionTrigger, scale_decision_record
from autoscaling.services.warm_pool import warm_fingerprint
from events.choices import Decision, EventStatus, Trigger
from events.models import ScaleEvent
from policies import services
from policies.models import ScalingPolicy, ScheduledAction

pytest_plugins = ["tests.fixtures.prometheus"]

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)  # Wednesday 12:00 UTC


@pytest.fixture(scope="module")
def counts(prometheus_server):
    prometheus_server.ensure_counts([2, 3])
    return prometheus_server


@pytest.fixture
def service(config, counts, prometheus_url):
    config.prometheus_job_name = counts.job_with_count(2)
    config.save(update_fields=["prometheus_job_name"])
    return config


def lunch(policy, **kw):
    values = {"name": "lunch", "weekdays": "wed", "start_time": time(11), "end_time": time(13), "min_vms": 3,
              "max_vms": 6, "desired_vms": 4, **kw}
    return ScheduledAction.objects.create(policy=policy, **values)


@pytest.mark.slow
def test_no_policy_alert_path_is_the_seed(service):
    event = scale_decision_record(config=service, action="scale-out", now=NOW)
    assert (event.decision, event.requested_count, event.status, event.dry_run) == (
        Decision.ALLOW, 1, EventStatus.QUEUED, False)


@pytest.mark.slow
def test_scheduled_action_scales_to_desired_through_the_decision_service(service):
    policy = ScalingPolicy.objects.create(config=service, policy_type="step", time_zone="UTC")
    lunch(policy)
    outcome, event = services.policy_evaluate(config=service, now=NOW)
    assert (event.decision, event.requested_count, event.trigger) == (Decision.ALLOW, 2, Trigger.SCHEDULE)
    policy.refresh_from_db()
    assert policy.applied_window_key == "lunch@2025-03-05"


@pytest.mark.slow
def test_dry_run_records_decision_and_plan_executes_nothing(service, django_capture_on_commit_callbacks):
    policy = ScalingPolicy.objects.create(config=service, policy_type="step", time_zone="UTC", dry_run=True)
    lunch(policy)
    with django_capture_on_commit_callbacks(execute=True):
        _, event = services.policy_evaluate(config=service, now=NOW)
    event.refresh_from_db()
    assert (event.status, event.dry_run, event.task_id) == (EventStatus.DRY_RUN, True, "")
    vms = event.plan["vms"]
    stamp = event.created_at.strftime("%Y%m%d%H%M%S")
    assert [v["vm"] for v in vms] == [f"auto-vm-test-{stamp}", f"auto-vm-test-{stamp}-2"]  # as the pipeline names them
    assert [v["ip"] for v in vms] == ["127.0.48.220", "127.0.48.221"]
    assert vms[0]["f5_member"] == "127.0.48.220:80" and event.plan["f5_pool"] == "auto-vm-test-pool"
    # dry-run on the alert path too
    with django_capture_on_commit_callbacks(execute=True):
        alert = scale_decision_record(config=service, action="scale-out", now=NOW)
    alert.refresh_from_db()
    assert alert.status == EventStatus.DRY_RUN and alert.plan["vms"][0]["vm"].startswith("auto-vm-test-")


@pytest.mark.slow
def test_suspended_process_blocks_alerts_and_schedules(service):
    policy = ScalingPolicy.objects.create(config=service, policy_type="step", suspend_scale_out=True)
    event = scale_decision_record(config=service, action="scale-out", now=NOW,
                                  trigger=DecisionTrigger(kind=Trigger.ALERT))
    assert event.decision == Decision.BLOCK_DISABLED and "suspended" in event.reason
    lunch(policy)
    outcome, event = services.policy_evaluate(config=service, now=NOW)
    assert event is None and "suspended" in outcome.reason


@pytest.mark.slow
def test_scheduled_bounds_apply_to_alerts(service):
    policy = ScalingPolicy.objects.create(config=service, policy_type="step")
    lunch(policy, min_vms=1, max_vms=2, desired_vms=None)
    event = scale_decision_record(config=service, action="scale-out", now=NOW)
    assert event.decision == Decision.BLOCK_MAX  # 2 VMs, the window's maximum is 2


def test_dry_run_plan_skips_protected_vms(config):
    for i, protected in enumerate([False, True, False]):
        ManagedVM.objects.create(config=config, name=f"auto-vm-test-2025010100000{i}", ip_address=f"127.0.48.22{i}",
                                 state="in_service", scale_in_protected=protected)
    plan = services.dry_run_plan(config=config, action="scale-in", count=2)
    assert [v["vm"] for v in plan["vms"]] == ["auto-vm-test-20250101000002", "auto-vm-test-20250101000000"]
    assert plan["protected_skipped"] == ["auto-vm-test-20250101000001"]


def test_dry_run_plan_takes_warm_pool_vms_first_and_never_picks_them_for_scale_in(config):
    config.warm_pool_size = 1
    config.save()
    ManagedVM.objects.create(config=config, name="auto-vm-test-20250101000000", ip_address="127.0.48.220",
                             state="in_service")
    ManagedVM.objects.create(config=config, name="auto-vm-test-20250101000001", ip_address="127.0.48.221",
                             state="warm", warm_fingerprint=warm_fingerprint(config=config))
    ManagedVM.objects.create(config=config, name="auto-vm-test-20241231000000", ip_address="127.0.48.227",
                             state="warm", warm_fingerprint="prepared-with-an-older-template")  # stale: never used
    for i in (0, 1, 7):
        IPLease.objects.create(config=config, ip_address=f"127.0.48.22{i}", vm_name=f"auto-vm-test-2025010100000{i}")
    plan = services.dry_run_plan(config=config, action="scale-out", count=2, now=NOW)
    assert plan["vms"][0] == {"vm": "auto-vm-test-20250101000001", "ip": "127.0.48.221",
                              "f5_member": f"127.0.48.221:{config.f5_vip_port}",
                              "prometheus_target": f"127.0.48.221:{config.node_exporter_port}", "from_warm_pool": True}
    assert "from_warm_pool" not in plan["vms"][1] and plan["vms"][1]["ip"] not in ("127.0.48.220", "127.0.48.221")
    assert len(plan["vms"]) == 2 and plan["short_of_ips"] == 0
    scale_in = services.dry_run_plan(config=config, action="scale-in", count=2)
    assert [v["vm"] for v in scale_in["vms"]] == ["auto-vm-test-20250101000000"]
    assert "to_warm_pool" not in scale_in["vms"][0]  # the pool of 1 is full (the stale VM counts until trimmed)
    config.warm_pool_size = 3
    config.save()
    scale_in = services.dry_run_plan(config=config, action="scale-in", count=2)
    assert scale_in["vms"][0]["to_warm_pool"] is True


@pytest.fixture
def operator(db):
    user = User.objects.create_user("ops", password="x")
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_scalingpolicy", "change_scalingpolicy", "add_scalingpolicy", "delete_scalingpolicy",
                      "view_managedvm", "change_managedvm"]))
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def test_api_policy_controls(config, operator):
    url = f"/api/policies/{config.service_name}/"
    response = operator.put(url, {"policy_type": "target_tracking", "target_utilisation": 55, "scheduled_actions": [
        {"name": "night", "weekdays": "fri", "start_time": "22:00", "end_time": "06:00", "min_vms": 1, "max_vms": 2}]},
        format="json")
    assert response.status_code == 201, response.content
    assert operator.get(url).json()["scheduled_actions"][0]["name"] == "night"
    for item, field in (({"weekdays": "funday"}, "weekdays"), ({"min_vms": 3, "max_vms": 2}, "max_vms"),
                        ({"end_time": "22:00"}, "end_time")):
        action = {"name": "x", "weekdays": "mon", "start_time": "22:00", "end_time": "23:00", "min_vms": 1,
                  "max_vms": 2, **item}
        bad = operator.patch(url, {"scheduled_actions": [action]}, format="json")
        assert bad.status_code == 400 and field in str(bad.json())
    assert operator.patch(url, {"time_zone": "Mars/Olympus"}, format="json").status_code == 400
    data = operator.post(url + "suspend", {"processes": ["scale_in", "predictive"]}, format="json").json()
    assert data["suspended_processes"] == ["scale_in", "predictive"]
    assert operator.post(url + "suspend", {"processes": ["nap"]}, format="json").status_code == 400
    assert operator.post(url + "resume", {}, format="json").json()["suspended_processes"] == []
    assert operator.post(url + "dry-run", {"enabled": True}, format="json").json()["dry_run"] is True
    assert operator.get("/api/policies/nope/").status_code == 404


def test_api_vm_protection(config, operator):
    ManagedVM.objects.create(config=config, name="auto-vm-test-20250101000000", state="in_service")
    url = "/api/managed-vms/auto-vm-test-20250101000000/protection"
    assert operator.patch(url, {"scale_in_protected": True}, format="json").json()["scale_in_protected"] is True
    assert ManagedVM.objects.get().scale_in_protected
    assert operator.patch(url, {"scale_in_protected": "maybe"}, format="json").status_code == 400
    assert APIClient().patch(url, {"scale_in_protected": False}, format="json").status_code in (401, 403)


# --- IXNODE_POLICY_INTERVAL sets the evaluation schedule ------------------------------------------------------


def test_evaluation_schedule_follows_policy_interval(db, settings):
    from django.core.checks import run_checks
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.core.management.sql import emit_post_migrate_signal
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name=services.EVALUATION_SCHEDULE_NAME)  # created by migrate
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "policies.tasks.policy_evaluate_all", Schedule.MINUTES, settings.IXNODE_POLICY_INTERVAL // 60)

    settings.IXNODE_POLICY_INTERVAL = 180
    emit_post_migrate_signal(0, False, "default")  # what every `migrate` ends with
    assert Schedule.objects.get(name=services.EVALUATION_SCHEDULE_NAME).minutes == 3

    out = io.StringIO()
    call_command("policy_schedule", "--interval", "300", stdout=out)
    assert Schedule.objects.filter(name=services.EVALUATION_SCHEDULE_NAME).count() == 1
    assert Schedule.objects.get(name=services.EVALUATION_SCHEDULE_NAME).minutes == 5 and "every 5 min" in out.getvalue()
    with pytest.raises(CommandError, match="multiple of 60"):
        call_command("policy_schedule", "--interval", "90")
    assert Schedule.objects.get(name=services.EVALUATION_SCHEDULE_NAME).minutes == 5  # unchanged

    settings.IXNODE_POLICY_INTERVAL = 30
    assert [e.id for e in run_checks() if e.id.startswith("policies.")] == ["policies.E001"]
    emit_post_migrate_signal(0, False, "default")  # logs the error, keeps the last good schedule
    assert Schedule.objects.get(name=services.EVALUATION_SCHEDULE_NAME).minutes == 5


# --- webhook repeats for a policy-managed service ---------------------------------------------------------------

WEBHOOK_TOKEN = "policies-webhook-token"


def _notification(fingerprint: str, starts_at: str) -> dict:
    return {"version": "4", "status": "firing", "receiver": "ixnode-auto-vm-test", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
            "groupKey": "{}:{}", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": {"alertname": "AutoVmTestHighCpu", "autoscale": "scale-out"},
                        "annotations": {}, "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "", "fingerprint": fingerprint}]}


@pytest.mark.slow
@pytest.mark.parametrize("policy_type", ["target_tracking", "predictive"])
def test_webhook_repeats_for_a_policy_managed_service_record_one_event(service, settings, policy_type):
    settings.IXNODE_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    ScalingPolicy.objects.create(config=service, policy_type=policy_type)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {WEBHOOK_TOKEN}")
    url = f"/api/webhook/autoscale/{service.service_name}"
    first = api.post(url, _notification("aa11", "2025-03-05T11:58:00Z"), format="json").json()
    assert [d["decision"] for d in first["decisions"]] == [Decision.BLOCK_DISABLED] and first["ignored"] == []
    event_id = first["decisions"][0]["event_id"]
    for _ in range(3):  # Alertmanager's repeat_interval re-sends the same alert
        again = api.post(url, _notification("aa11", "2025-03-05T11:58:00Z"), format="json").json()
        assert again["decisions"] == []
        (ignored,) = again["ignored"]
        assert (ignored["fingerprint"], ignored["status"], ignored["action"]) == ("aa11", "firing", "scale-out")
        assert f"event {event_id}" in ignored["reason"] and "policy" in ignored["reason"]
    # the alert resolved and fired again: a new start, recorded once more
    new = api.post(url, _notification("aa11", "2025-03-05T12:30:00Z"), format="json").json()
    assert [d["decision"] for d in new["decisions"]] == [Decision.BLOCK_DISABLED]
    assert ScaleEvent.objects.filter(config=service).count() == 2


@pytest.mark.slow
def test_webhook_repeats_for_step_and_suspended_services_are_decided_once_per_alert_instance(service, settings):
    """Step and suspended services decide their alerts (not the policy's "scales by its policy"), and — like every
    alert since issue 12 — a re-delivery of one alert instance is answered with its decision, not decided again."""
    settings.IXNODE_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    policy = ScalingPolicy.objects.create(config=service, policy_type="step")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {WEBHOOK_TOKEN}")
    url = f"/api/webhook/autoscale/{service.service_name}"
    answers = [api.post(url, _notification("bb22", "2025-03-05T11:58:00Z"), format="json").json() for _ in range(2)]
    assert answers[0]["decisions"][0]["decision"] == Decision.ALLOW  # the seed's
    assert answers[1]["decisions"] == [] and answers[1]["ignored"][0]["event_id"] == answers[0]["decisions"][0][
        "event_id"]
    ScaleEvent.objects.all().delete()
    ScalingPolicy.objects.filter(pk=policy.pk).update(policy_type="target_tracking", suspend_scale_out=True)
    # An operator's suspension is decided (it is not the policy's call), once per alert instance.
    first = api.post(url, _notification("bb22", "2025-03-05T11:58:00Z"), format="json").json()
    assert first["decisions"][0]["decision"] == Decision.BLOCK_DISABLED and first["ignored"] == []
    again = api.post(url, _notification("bb22", "2025-03-05T11:58:00Z"), format="json").json()
    assert again["decisions"] == [] and again["ignored"][0]["event_id"] == first["decisions"][0]["event_id"]
    assert ScaleEvent.objects.get().deliveries == 2


def test_api_scale_in_target_must_not_exceed_target(config, operator):
    url = f"/api/policies/{config.service_name}/"
    bad = operator.put(url, {"policy_type": "target_tracking", "target_utilisation": 65,
                             "scale_in_target_utilisation": 70}, format="json")
    assert bad.status_code == 400 and "scale_in_target_utilisation" in bad.json()
    good = operator.put(url, {"policy_type": "target_tracking", "target_utilisation": 70,
                              "scale_in_target_utilisation": 60}, format="json")
    assert good.status_code in (200, 201), good.content
    policy = ScalingPolicy.objects.get(config=config)
    from policies.selectors import policy_settings

    assert policy_settings(config, policy).scale_in_target == 60
    assert operator.patch(url, {"target_utilisation": 55}, format="json").status_code == 400  # 60 > 55
