"""Issue 12, points 13 and 10: one alert instance starts at most one run, its re-deliveries are recorded once, and
a decision whose answer was lost is linked to the retry that got it.

An alert instance is the action + the labels' fingerprint + ``startsAt``. Before the fix, with
``cooldownSeconds: 0`` and runs failing fast, every delivery of the same instance was an ALLOW (50 in 60 s); a
notification re-sent after a lost answer recorded a second decision (3,001 decisions for 3,000 answers).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

import autoscaling.services.decisions as decisions
from autoscaling.models import CooldownState
from autoscaling.services.runs import scale_event_finish
from events.choices import IN_FLIGHT_STATUSES, Decision, EventStatus
from events.models import ScaleEvent
from tests.fixtures.webhook import TOKEN

pytest_plugins = ["tests.fixtures.webhook"]

URL = "/api/webhook/autoscale/auto-vm-test"


def notification(fingerprint="f00dfeed", starts_at="2025-01-01T00:06:00.000Z", action="scale-out"):
    return {
        "version": "4", "groupKey": '{}:{alertname="AutoVmTestHighCpu"}', "status": "firing",
        "receiver": "ixnode-auto-vm-test", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [{"status": "firing", "labels": {"alertname": "AutoVmTestHighCpu", "autoscale": action},
                    "annotations": {}, "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "", "fingerprint": fingerprint}],
    }


@pytest.fixture(scope="module")
def counts(prometheus_server):
    prometheus_server.ensure_counts([2, 4])
    return prometheus_server


@pytest.fixture
def service(counts, webhook_service):
    # cooldown 0 is accepted by validation: nothing but the instance stops a fast-failing repeat
    return webhook_service(2, cooldown_seconds=0, alert_repeat_interval_seconds=300)


@pytest.fixture
def api(webhook_api):
    return webhook_api


def post(api, body):
    response = api.post(URL, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def fail_runs_fast(config):
    """What a run failing at its first stage does: end it as failed (which starts the — zero — cooldown)."""
    for event in ScaleEvent.objects.filter(config=config, status__in=IN_FLIGHT_STATUSES):
        scale_event_finish(event=event, status=EventStatus.FAILED, error="vCenter refused the clone")


def test_cooldown_zero_fast_failing_runs_one_allow_for_fifty_deliveries(service, api):
    answers = []
    for _ in range(50):
        answers.append(post(api, notification()))
        fail_runs_fast(service)

    events = list(ScaleEvent.objects.filter(config=service))
    assert [e.decision for e in events] == [Decision.ALLOW], [(e.decision, e.reason) for e in events]
    assert events[0].status == EventStatus.FAILED and events[0].deliveries == 50
    assert answers[0]["decisions"][0]["decision"] == Decision.ALLOW
    repeats = [a["ignored"][0] for a in answers[1:]]
    assert all(r["event_id"] == events[0].pk and "starts at most one run" in r["reason"] for r in repeats), repeats[0]


def test_the_instance_acts_again_when_it_fires_anew(service, api):
    post(api, notification())
    fail_runs_fast(service)
    # Resolved and firing again: a new startsAt is a new instance, decided as usual.
    answer = post(api, notification(starts_at="2025-01-01T01:00:00Z"))
    assert answer["decisions"][0]["decision"] == Decision.ALLOW
    assert ScaleEvent.objects.filter(config=service, decision=Decision.ALLOW).count() == 2


def test_same_instant_in_another_zone_is_the_same_instance(service, api):
    post(api, notification(starts_at="2025-01-01T00:06:00Z"))
    answer = post(api, notification(starts_at="2025-01-01T02:06:00+02:00"))
    assert answer["decisions"] == [] and answer["ignored"][0]["event_id"]


def test_alertmanager_repeats_of_a_block_are_recorded_once(service, api, counts):
    service.prometheus_job_name = counts.job_with_count(4)  # at the maximum: BLOCK_MAX, which starts a cooldown
    service.save()
    first = post(api, notification())["decisions"][0]
    started = CooldownState.objects.get(pk=service.pk).last_scale_out_at
    for _ in range(10):
        assert post(api, notification())["ignored"][0]["event_id"] == first["event_id"]
    event = ScaleEvent.objects.get(config=service)
    assert (event.decision, event.deliveries) == (Decision.BLOCK_MAX, 11)
    # Re-deliveries decide nothing: the cooldown the block started is not restarted by them.
    assert CooldownState.objects.get(pk=service.pk).last_scale_out_at == started


def test_after_a_successful_step_the_next_repeat_is_decided(service, api):
    """Alertmanager's repeat a repeat interval later, with the alert still firing after a successful run, asks
    for the next step (the seed's step scaling); sooner it is a re-delivery."""
    post(api, notification())
    run = ScaleEvent.objects.get(config=service)
    scale_event_finish(event=run, status=EventStatus.SUCCEEDED, after_count=3)
    assert post(api, notification())["decisions"] == []  # seconds later: a re-delivery
    ScaleEvent.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=301))
    answer = post(api, notification())
    assert answer["decisions"][0]["decision"] == Decision.ALLOW
    assert ScaleEvent.objects.filter(config=service, decision=Decision.ALLOW).count() == 2


def test_no_instance_starts_a_second_run_while_its_run_is_in_flight(service, api):
    post(api, notification())
    ScaleEvent.objects.update(created_at=timezone.now() - timedelta(days=1))  # far outside any window
    answer = post(api, notification())
    assert answer["decisions"] == [] and "whose run is queued" in answer["ignored"][0]["reason"]


@pytest.mark.django_db(transaction=True)
def test_instances_survive_a_restart(service, api):
    """The instance is the database's, not a process': committed, then seen through fresh connections."""
    post(api, notification())
    fail_runs_fast(service)
    connections.close_all()
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert post(fresh, notification())["decisions"] == []
    assert ScaleEvent.objects.get(config=service).deliveries == 2


def test_scale_in_and_scale_out_of_one_fingerprint_are_two_instances(service, api):
    post(api, notification(action="scale-out"))
    fail_runs_fast(service)
    answer = post(api, notification(action="scale-in"))
    assert answer["decisions"][0]["action"] == "scale-in"


def test_a_notification_with_two_instances_decides_each_once(service, api):
    body = notification()
    body["alerts"].append({**copy.deepcopy(body["alerts"][0]), "fingerprint": "other"})
    first = post(api, body)
    assert [d["decision"] for d in first["decisions"]] == [Decision.ALLOW, Decision.BLOCK_IN_PROGRESS]
    again = post(api, body)
    assert again["decisions"] == [] and [i["event_id"] for i in again["ignored"]] == [
        d["event_id"] for d in first["decisions"]]


# --- point 10: the answer never reached Alertmanager ---------------------------------------------------------


def test_a_decision_whose_answer_was_lost_is_linked_to_the_retry(live_server, service, monkeypatch,
                                                                 operator_client):
    """The first delivery is decided and committed, but its answer never reaches the sender (the connection is
    reset / the worker dies after the commit). Alertmanager sends the notification again: the retry is answered
    with the same decision, counted on it — not a second, orphaned decision."""
    announce = decisions._announce
    slow = threading.Event()

    def announce_then_hang(**kwargs):
        announce(**kwargs)
        if not slow.is_set():
            slow.set()
            time.sleep(3)  # after the commit, before the answer: the sender gives up

    monkeypatch.setattr(decisions, "_announce", announce_then_hang)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    body = json.dumps(notification())
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{live_server.url}{URL}", data=body, headers=headers, timeout=1)
    retry = requests.post(f"{live_server.url}{URL}", data=body, headers=headers, timeout=30)
    assert retry.status_code == 200, retry.text

    event = ScaleEvent.objects.get(config=service)  # one decision for the notification, not two
    assert event.decision == Decision.ALLOW and event.deliveries == 2 and event.last_delivered_at
    assert retry.json()["ignored"][0]["event_id"] == event.pk

    api = operator_client.get(f"/api/events/{event.pk}/").json()
    assert api["deliveries"] == 2 and api["lastDeliveredAt"]
    page = operator_client.get(f"/events/{event.pk}/").content.decode()
    assert "Delivered 2 times" in page
