"""Stored rows with odd JSON (another version's, a hand edit) on the pages, the admin and the API: never a 500."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from events.models import ScaleEvent
from policies.choices import PolicyType
from policies.models import ScalingPolicy, WhatIfRun

pytest_plugins = ["tests.fixtures.pages"]
pytestmark = pytest.mark.django_db

ODD_PARTS = [
    "just a string", [1, 2], {"code": 5}, {"code": "policy_decided"},
    {"code": "policy_decided", "params": {"decision": {"code": "nope"}, "notes": "x"}},
    {"code": "policy_decided", "params": {"decision": {"code": "at_max", "params": "bad"}, "notes": [1, {"code": 3}]}},
    {"code": "policy_decided", "params": {"decision": {"code": "at_max", "params": {"count": "x"}},
                                          "notes": [{"code": "rec_out", "params": {"fresh": "abc"}}]}},
    {"code": "rec_out", "params": {"fresh": "nan"}, "text": "English"},
    {"code": "policy_no_change", "params": {"notes": [{"code": "tt_utilisation", "params": None}]}},
    {"code": "policy_no_change", "params": {"notes": [[{"code": "tt_stabilised", "params": {"count": 1}}]]}},
    {"code": "policy_no_change", "params": {"notes": [{"code": "tt_stabilised", "params": [1]}]}},
    {"code": "policy_no_change", "params": {"notes": {"code": "tt_stabilised", "params": {"count": "\x07"}}}},
    {"code": "policy_no_change", "params": {"notes": [{"code": "policy_no_change", "params": {"notes": []}}]}},
    {"text": 5}, {"code": "", "text": ["a"]}, {"code": "scaled_by_policy", "params": {"policy": 5, "interval": 1}},
    {"code": "count_unknown_error", "params": {"error": 5}},
    {"code": "policy_no_change", "params": {"notes": [{"code": "count_unknown_error", "params": {"error": 5}}]}},
]


@pytest.mark.parametrize("parts", ODD_PARTS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_event_page_and_admin_with_odd_trigger_parts(admin_client, config, parts, lang):
    event = ScaleEvent.objects.create(config=config, service_name=config.service_name, action="scale-out",
                                      decision="ALLOW", reason="r", trigger_parts=parts)
    page = admin_client.get(reverse("events:detail", args=[event.pk]), HTTP_ACCEPT_LANGUAGE=lang)
    assert page.status_code == 200
    page = admin_client.get(f"/admin/events/scaleevent/{event.pk}/change/", HTTP_ACCEPT_LANGUAGE=lang)
    assert page.status_code == 200
    api = admin_client.get(f"/api/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE=lang)
    assert api.status_code == 200, api.content


@pytest.mark.parametrize("parts", ODD_PARTS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_service_page_and_policy_admin_with_odd_evaluation_parts(admin_client, config, parts, lang):
    from django.utils import timezone
    policy = ScalingPolicy.objects.create(config=config, policy_type=PolicyType.RECOMMENDED,
                                          last_evaluation="stored", last_evaluated_at=timezone.now(),
                                          last_evaluation_parts=parts)
    page = admin_client.get(reverse("autoscaling:service", args=[config.service_name]), HTTP_ACCEPT_LANGUAGE=lang)
    assert page.status_code == 200
    page = admin_client.get(f"/admin/policies/scalingpolicy/{policy.pk}/change/", HTTP_ACCEPT_LANGUAGE=lang)
    assert page.status_code == 200


ODD_RESULTS = [
    {"rows": None}, {"rows": [{"key": "current", "policy_type": "bogus"}]},
    {"rows": [{"key": "step", "policy_type": "step", "overload_minutes": None}]},
    {"rows": [{"key": "step", "policy_type": "step", "vm_hours": "x"}]},
    {"start": 1e300, "end": -1e300, "rows": []},
    {"start": True, "rows": []},
    {"demand_peak": "high", "gap_minutes": [1], "rows": [{"key": "x", "policy_type": "y", "flaps": {"a": 1}}]},
    {"current_policy_type": "bogus", "rows": []},
]


@pytest.mark.parametrize("result", ODD_RESULTS)
def test_whatif_api_and_page_with_odd_stored_result(admin_client, admin_user, config, result):
    run = WhatIfRun.objects.create(config=config, days=1, status="succeeded", result=result)
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.get(f"/api/policies/{config.service_name}/whatif-runs/{run.pk}/")
    code_api = response.status_code
    page = admin_client.get(reverse("autoscaling:whatif", args=[config.service_name, run.pk]))
    assert (code_api, page.status_code) == (200, 200)
