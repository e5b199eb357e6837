"""Manual actions (scale out/in by N, desired count, protection) from the instances panel and the API: one decision
each through the decision service, the operator as trigger, refused with the reason; real Prometheus counts."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from autoscaling.models import CooldownState, ManagedVM
from events.choices import Decision, EventStatus, Trigger
from events.models import ScaleEvent
from policies.models import ScalingPolicy

pytest_plugins = ["tests.fixtures.prometheus", "tests.fixtures.config_pages"]
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def counts(prometheus_server):
    prometheus_server.ensure_counts([2, 3, 4])
    return prometheus_server


@pytest.fixture
def service(counted_service):
    """The conftest config (min 2, max 4, enabled), its VM count answered by the real Prometheus."""
    return counted_service


def scale(client, config, **data):
    return client.post(reverse("autoscaling:service-scale", args=[config.service_name]), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_scale_out_by_n_is_a_decision_with_the_operator_as_trigger(engineer_client, service):
    response = scale(engineer_client, service, action="scale-out", count="5")
    assert response.redirect_chain[-1][0].endswith("/services/auto-vm-test/#instances")
    event = ScaleEvent.objects.get()
    assert (event.trigger, event.triggered_by, event.action) == (Trigger.MANUAL, "engineer", "scale-out")
    assert (event.decision, event.status, event.requested_count) == (Decision.ALLOW, EventStatus.QUEUED, 2)
    assert "2 → 4" in event.reason  # 5 asked, never past the maximum
    text = " ".join(messages_of(response))
    assert f"#{event.pk}" in text and "Allowed" in text


def test_a_blocked_action_shows_its_reason(engineer_client, service):
    response = scale(engineer_client, service, action="scale-in", count="1")  # at the minimum
    event = ScaleEvent.objects.get()
    assert (event.decision, event.status, event.trigger) == (Decision.BLOCK_MIN, EventStatus.BLOCKED, "manual")
    text = " ".join(messages_of(response))
    assert "Blocked: minimum VM count reached" in text and event.reason in text
    body = response.content.decode()
    assert 'data-decision="BLOCK_MIN"' in body and "msg-error" in body


def test_a_blocked_action_tells_a_korean_reader_why_in_korean(engineer_client, service):
    response = engineer_client.post(reverse("autoscaling:service-scale", args=[service.service_name]),
                                    {"action": "scale-in", "count": "1"}, follow=True, HTTP_ACCEPT_LANGUAGE="ko")
    event = ScaleEvent.objects.get()
    text = " ".join(messages_of(response))
    assert event.reason_code == "at_min" and event.reason not in text  # the English sentence is not what is shown
    assert "VM 2대로 최소 2대에 도달했습니다" in text and f"#{event.pk}" in text


def test_cooldown_blocks_a_manual_action_too(engineer_client, service):
    from django.utils import timezone

    service.set_count(3)
    CooldownState.objects.create(config=service, last_scale_in_at=timezone.now())
    scale(engineer_client, service, action="scale-in", count="1")
    assert ScaleEvent.objects.get().decision == Decision.BLOCK_COOLDOWN


def test_desired_count(engineer_client, service):
    service.set_count(3)
    response = scale(engineer_client, service, action="desired", desired="3")
    assert not ScaleEvent.objects.exists() and "already runs 3 VMs" in " ".join(messages_of(response))
    scale(engineer_client, service, action="desired", desired="2")
    event = ScaleEvent.objects.get()
    assert (event.action, event.requested_count, event.decision) == ("scale-in", 1, Decision.ALLOW)
    for bad in ("5", "1", "lots"):
        response = scale(engineer_client, service, action="desired", desired=bad)
        assert messages_of(response), bad
    assert ScaleEvent.objects.count() == 1


def test_desired_count_with_prometheus_down_decides_nothing(engineer_client, service, settings):
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    response = scale(engineer_client, service, action="desired", desired="3")
    assert not ScaleEvent.objects.exists()
    assert "could not be read from Prometheus" in " ".join(messages_of(response))
    scale(engineer_client, service, action="scale-out", count="1")  # a step needs no direction: recorded, blocked
    assert ScaleEvent.objects.get().decision == Decision.BLOCK_UNKNOWN_COUNT


def test_dry_run_and_suspension_apply_to_manual_actions(engineer_client, service):
    policy = ScalingPolicy.objects.create(config=service, dry_run=True, suspend_scale_in=True)
    scale(engineer_client, service, action="scale-out", count="1")
    event = ScaleEvent.objects.get()
    assert (event.decision, event.status, event.dry_run) == (Decision.ALLOW, EventStatus.DRY_RUN, True)
    service.set_count(3)
    response = scale(engineer_client, service, action="scale-in", count="1")
    blocked = ScaleEvent.objects.latest("pk")
    assert blocked.decision == Decision.BLOCK_DISABLED and "suspended" in blocked.reason
    assert blocked.reason in " ".join(messages_of(response))
    # A target-tracking policy stops alerts, not the operator.
    policy.policy_type, policy.dry_run, policy.suspend_scale_in = "target_tracking", False, False
    policy.save()
    scale(engineer_client, service, action="scale-in", count="1")
    assert ScaleEvent.objects.latest("pk").decision == Decision.ALLOW


def test_bad_input_and_permissions(engineer_client, operator_client, service):
    for data in ({"action": "scale-out", "count": "0"}, {"action": "scale-out", "count": "x"},
                 {"action": "explode", "count": "1"}, {"action": "scale-out", "count": "1000"}):
        response = scale(engineer_client, service, **data)
        assert response.status_code == 200 and messages_of(response), data
    assert not ScaleEvent.objects.exists()
    url = reverse("autoscaling:service-scale", args=[service.service_name])
    assert operator_client.post(url, {"action": "scale-out", "count": "1"}).status_code == 403
    assert Client().post(url, {"action": "scale-out", "count": "1"}).status_code == 302  # to the login page
    assert engineer_client.get(url).status_code == 405
    assert not ScaleEvent.objects.exists()


def test_protect_and_unprotect(engineer_client, operator_client, service, make_config):
    vm = ManagedVM.objects.create(config=service, name="auto-vm-test-20250101000000", ip_address="127.0.48.221",
                                  state="in_service")
    url = reverse("autoscaling:instance-protection", args=[service.service_name, vm.pk])
    assert operator_client.post(url, {"protected": "on"}).status_code == 403
    response = engineer_client.post(url, {"protected": "on"}, follow=True)
    vm.refresh_from_db()
    assert vm.scale_in_protected is True
    assert "is protected from scale-in" in " ".join(messages_of(response))
    assert response.redirect_chain[-1][0].endswith("/services/auto-vm-test/#instances")
    panel = engineer_client.get(reverse("autoscaling:service-instances", args=[service.service_name]))
    assert 'data-action="unprotect"' in panel.content.decode()
    engineer_client.post(url, {"protected": "off"})
    vm.refresh_from_db()
    assert vm.scale_in_protected is False
    other = make_config("other-svc", octet=70)
    assert engineer_client.post(reverse("autoscaling:instance-protection", args=[other.service_name, vm.pk]),
                                {"protected": "on"}).status_code == 404


def test_api_scale_and_desired_count(service, engineer, operator, counts):
    api = APIClient()
    api.force_authenticate(engineer)
    base = f"/api/autoscaling/configs/{service.service_name}"
    answer = api.post(f"{base}/scale/", {"action": "scale-out", "count": 1}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["decision"], body["trigger"], body["triggeredBy"], body["requestedCount"]) == (
        "ALLOW", "manual", "engineer", 1)
    assert api.post(f"{base}/scale/", {"action": "scale-out", "count": 0}, format="json").status_code == 400
    service.set_count(4)
    answer = api.post(f"{base}/desired-count/", {"desiredCount": 4}, format="json")
    assert answer.status_code == 200 and answer.json() == {"currentCount": 4, "desiredCount": 4, "event": None}
    answer = api.post(f"{base}/desired-count/", {"desiredCount": 9}, format="json")
    assert answer.status_code == 400 and "between the minimum" in answer.json()["desiredCount"][0]
    viewer = APIClient()
    viewer.force_authenticate(operator)
    assert viewer.post(f"{base}/scale/", {"action": "scale-out"}, format="json").status_code == 403
    schema = api.get("/api/schema/").content.decode()
    assert "/api/autoscaling/configs/{service_name}/scale/" in schema
    assert "/api/autoscaling/configs/{service_name}/desired-count/" in schema


def test_without_javascript_the_forms_come_back_to_the_instances_page(engineer_client, service):
    """The instances page a browser opens without JavaScript: its forms post as the panel's and come back to it,
    the decision's message shown there."""
    vm = ManagedVM.objects.create(config=service, name="auto-vm-test-20250101000000", ip_address="127.0.48.221",
                                  state="in_service")
    page_url = reverse("autoscaling:service-instances", args=[service.service_name])
    response = engineer_client.post(reverse("autoscaling:instance-protection", args=[service.service_name, vm.pk]),
                                    {"protected": "on", "back": "instances"}, follow=True)
    assert response.redirect_chain[-1][0] == page_url + "#instances"
    vm.refresh_from_db()
    assert vm.scale_in_protected is True
    body = response.content.decode()
    assert "is protected from scale-in" in body and 'id="back-to-service"' in body
    assert 'data-action="unprotect"' in body

    response = scale(engineer_client, service, action="scale-out", count="1", back="instances")
    assert response.redirect_chain[-1][0] == page_url + "#instances"
    event = ScaleEvent.objects.get()
    assert f"#{event.pk}" in " ".join(messages_of(response)) and 'id="back-to-service"' in response.content.decode()
    # Anything else than the page's own word goes back to the service page, as before.
    response = scale(engineer_client, service, action="scale-in", count="1", back="https://elsewhere.example/")
    assert response.redirect_chain[-1][0] == f"/services/{service.service_name}/#instances"
