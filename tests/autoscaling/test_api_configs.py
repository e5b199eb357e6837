"""Config API (camelCase, nested sections) and events API: auth, validation with nested field paths, delete guard."""

from __future__ import annotations

import copy

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from autoscaling.choices import ManagedVMState
from autoscaling.models import AutoscalingConfig, ManagedVM
from events.choices import Decision, EventStatus
from events.models import ScaleEvent, ScaleEventStage

BASE = "/api/autoscaling/configs/"


@pytest.fixture
def operator(db):
    return User.objects.create_superuser("ops", "ops@example.invalid", "pw-ops-123456")


@pytest.fixture
def api(operator):
    client = APIClient()
    client.force_authenticate(operator)
    return client


def seed_document(template) -> dict:
    """The original design's example config, with the VIP moved out of the pool (a VIP inside the pool is
    refused) and loopback addresses."""
    return {
        "serviceName": "auto-vm-test",
        "prometheusJobName": "auto-vm-test-service",
        "templateId": template.pk,
        "vmPrefix": "auto-vm-test",
        "minVms": 2,
        "maxVms": 4,
        "scaleOutStep": 1,
        "scaleInStep": 1,
        "monitoring": {
            "cpuThreshold": 80,
            "memoryThreshold": 80,
            "durationMinutes": 1,
            "scaleInCpuThreshold": 30,
            "scaleInMemoryThreshold": 30,
            "scaleInDurationMinutes": 5,
            "cooldownSeconds": 300,
        },
        "network": {
            "ipPoolStart": "127.0.48.220",
            "ipPoolEnd": "127.0.48.228",
            "gateway": "127.0.48.1",
            "subnetCidr": "127.0.48.0/24",
            "vlanId": 1048,
        },
        "f5": {"poolName": "auto-vm-test-pool", "vipAddress": "127.0.48.229", "vipPort": 80,
               "healthCheckPath": "/health"},
        "sshUser": "ubuntu",
        "sshKeyPath": "/var/lib/jenkins/.ssh/id_rsa",
        "enabled": True,
    }


def test_create_and_read_in_the_seed_shape(api, template):
    response = api.post(BASE, seed_document(template), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["serviceName"] == "auto-vm-test"
    assert body["monitoring"]["cpuThreshold"] == 80
    assert body["monitoring"]["cooldownSeconds"] == 300
    assert body["network"] == {
        "mode": "ssh_netplan", "ipPoolStart": "127.0.48.220", "ipPoolEnd": "127.0.48.228", "gateway": "127.0.48.1",
        "subnetCidr": "127.0.48.0/24", "vlanId": 1048, "dnsServers": "",
    }
    assert body["f5"]["vipAddress"] == "127.0.48.229"
    assert body["templateId"] == template.pk
    assert body["artifacts"]["status"] == "pending"
    assert body["createdAt"] and body["updatedAt"]
    config = AutoscalingConfig.objects.get(service_name="auto-vm-test")
    assert (config.scale_out_cpu_threshold, config.f5_pool_name, config.vlan_id) == (80, "auto-vm-test-pool", 1048)

    detail = api.get(f"{BASE}auto-vm-test/")
    assert detail.status_code == 200 and detail.json() == body
    listing = api.get(BASE).json()
    assert listing["count"] == 1 and listing["results"][0]["serviceName"] == "auto-vm-test"


def _set(document: dict, path: tuple, value) -> dict:
    document = copy.deepcopy(document)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


def _error(body: dict, path: tuple) -> list[str]:
    node = body
    for key in path:
        node = node[key]
    return node


@pytest.mark.parametrize(
    ("path", "value", "error_path", "fragment"),
    [
        (("minVms",), 5, ("maxVms",), "greater than or equal to minimum"),
        (("minVms",), 0, ("minVms",), "greater than or equal to 1"),
        (("f5", "vipAddress"), "127.0.48.225", ("f5", "vipAddress"), "inside the IP pool"),
        (("network", "gateway"), "127.0.48.221", ("network", "gateway"), "inside the IP pool"),
        (("network", "ipPoolEnd"), "127.0.49.10", ("network", "ipPoolEnd"), "outside the subnet"),
        (("network", "subnetCidr"), "127.0.48.7/24", ("network", "subnetCidr"), "CIDR"),
        (("monitoring", "cpuThreshold"), 120, ("monitoring", "cpuThreshold"), "less than or equal to 100"),
        (("monitoring", "scaleInCpuThreshold"), 85, ("monitoring", "scaleInCpuThreshold"), "below the scale-out"),
        (("monitoring", "scaleInMemoryThreshold"), 80, ("monitoring", "scaleInMemoryThreshold"), "below"),
        (("monitoring", "cooldownSeconds"), "soon", ("monitoring", "cooldownSeconds"), "valid integer"),
        (("network", "vlanId"), 5000, ("network", "vlanId"), "4094"),
        (("serviceName",), "Bad_Name", ("serviceName",), "lower-case"),
        (("templateId",), 999999, ("templateId",), "does not exist"),
        (("f5", "healthCheckPath"), "health", ("f5", "healthCheckPath"), "starting with '/'"),
        (("network", "ipPoolStart"), "not-an-ip", ("network", "ipPoolStart"), "valid IPv4 or IPv6"),
        (("monitoring",), "flat", ("monitoring", "non_field_errors"), "dictionary"),
        (("network", "dnsServers"), "x", ("network", "dnsServers"), "'x' is not an IP address"),
        (("network", "dnsServers"), "127.0.0.53,,300.1.1.1", ("network", "dnsServers"), "'300.1.1.1'"),
        (("sshKeyPath",), "id_rsa", ("sshKeyPath",), "absolute path"),
    ],
)
def test_invalid_configs_rejected_with_nested_field_errors(api, template, path, value, error_path, fragment):
    response = api.post(BASE, _set(seed_document(template), path, value), format="json")
    assert response.status_code == 400, response.content
    messages = _error(response.json(), error_path)
    assert any(fragment in message for message in messages), response.json()
    assert not AutoscalingConfig.objects.exists()


def test_same_messages_as_model_validation(api, template, config_values):
    """The API's message for a VIP inside the pool is the one full_clean() (and so the admin) gives."""
    from django.core.exceptions import ValidationError

    values = dict(config_values, f5_vip_address="127.0.48.225")
    with pytest.raises(ValidationError) as caught:
        AutoscalingConfig(**values).full_clean()
    document = _set(seed_document(template), ("f5", "vipAddress"), "127.0.48.225")
    api_messages = api.post(BASE, document, format="json").json()["f5"]["vipAddress"]
    assert api_messages == caught.value.message_dict["f5_vip_address"]


def test_duplicate_service_name(api, template, config):
    document = _set(seed_document(template), ("prometheusJobName",), "other-job")
    document["vmPrefix"] = "other"
    response = api.post(BASE, document, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["serviceName"][0]


def test_patch_nested_and_put(api, template, config):
    response = api.patch(f"{BASE}auto-vm-test/", {"monitoring": {"cooldownSeconds": 60}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["monitoring"]["cooldownSeconds"] == 60
    assert response.json()["monitoring"]["cpuThreshold"] == 80  # untouched
    config.refresh_from_db()
    assert config.cooldown_seconds == 60

    # A PATCH is validated as a whole: the result of the change must be a valid config.
    bad = api.patch(f"{BASE}auto-vm-test/", {"monitoring": {"scaleInCpuThreshold": 90}}, format="json")
    assert bad.status_code == 400
    assert "below the scale-out" in bad.json()["monitoring"]["scaleInCpuThreshold"][0]

    document = _set(seed_document(template), ("maxVms",), 6)
    put = api.put(f"{BASE}auto-vm-test/", document, format="json")
    assert put.status_code == 200, put.json()
    config.refresh_from_db()
    assert config.max_vms == 6 and config.cooldown_seconds == 300


def test_unknown_service_404(api):
    assert api.get(f"{BASE}nope/").status_code == 404


@pytest.mark.parametrize(
    ("path", "english", "korean"),
    [
        (f"{BASE}nope/", "Autoscaling config 'nope' does not exist.", "오토스케일링 설정 'nope'이(가) 없습니다."),
        ("/api/templates/999/", "Template '999' does not exist.", "템플릿 '999'이(가) 없습니다."),
        ("/api/events/999/", "Scale event '999' does not exist.", "스케일 이벤트 '999'이(가) 없습니다."),
        ("/api/policies/nope/whatif-runs/", "Autoscaling config 'nope' does not exist.",
         "오토스케일링 설정 'nope'이(가) 없습니다."),
        ("/api/managed-vms/nope/protection", "Managed VM 'nope' does not exist.", "관리 VM 'nope'이(가) 없습니다."),
        # DRF's and the product's own 404s: already in the catalogue
        ("/api/policies/auto-vm-test/whatif-runs/999/", "Not found.", "찾을 수 없습니다."),
        ("/api/events/?page=99", "Invalid page.", "페이지가 유효하지 않습니다."),
        ("/api/no-such-route/", "Not found.", "찾을 수 없습니다."),
    ],
)
def test_a_404_speaks_the_readers_language_and_names_what_is_missing(api, config, path, english, korean):
    """Django's get_object_or_404 says "No AutoscalingConfig matches the given query." in English whatever the
    reader's language: the API answers with the model's name and the value looked up, in the reader's language."""
    answer = api.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 404 and answer.json()["detail"] == english
    answer = api.get(path, HTTP_ACCEPT_LANGUAGE="ko")
    assert answer.status_code == 404 and answer.json()["detail"] == korean


def test_delete_refused_while_run_in_flight_or_vms_alive(api, config):
    event = ScaleEvent.objects.create(config=config, service_name=config.service_name, action="scale-out",
                                      decision=Decision.ALLOW, status=EventStatus.RUNNING)
    response = api.delete(f"{BASE}auto-vm-test/")
    assert response.status_code == 400
    assert f"Scale event #{event.pk}" in response.json()["detail"]
    event.status = EventStatus.SUCCEEDED
    event.save()

    vm = ManagedVM.objects.create(config=config, name="auto-vm-test-20250101000600", state=ManagedVMState.IN_SERVICE)
    response = api.delete(f"{BASE}auto-vm-test/")
    assert response.status_code == 400
    assert "auto-vm-test-20250101000600" in response.json()["detail"]

    vm.state = ManagedVMState.DELETED
    vm.save()
    assert api.delete(f"{BASE}auto-vm-test/").status_code == 204
    assert not AutoscalingConfig.objects.exists()
    event.refresh_from_db()
    assert event.config is None and event.service_name == "auto-vm-test"  # the audit stays


def test_auth_required_and_permissions(config, template):
    anonymous = APIClient()
    assert anonymous.get(BASE).status_code == 401
    assert anonymous.post(BASE, seed_document(template), format="json").status_code == 401

    viewer = User.objects.create_user("viewer", password="pw-viewer-123456")
    viewer.user_permissions.add(Permission.objects.get(codename="view_autoscalingconfig"))
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.get(BASE).status_code == 200
    assert client.delete(f"{BASE}auto-vm-test/").status_code == 403
    assert client.patch(f"{BASE}auto-vm-test/", {"enabled": False}, format="json").status_code == 403


def test_token_auth_with_drf_create_token(config, operator, capsys):
    call_command("drf_create_token", "ops")
    token = Token.objects.get(user=operator).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(BASE).status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get(BASE).status_code == 401


def test_a_user_token_sent_as_bearer_is_told_the_scheme(config, operator):
    """The webhook takes ``Bearer``; the operator API ``Token``. A newcomer's ``Bearer <API token>`` (or a bare
    token) hears which header to send, not DRF's "credentials were not provided"; the token itself is not echoed."""
    token = Token.objects.create(user=operator).key
    client = APIClient()
    for header in (f"Bearer {token}", token, f"Basic {token}"):
        client.credentials(HTTP_AUTHORIZATION=header)
        answer = client.get(BASE)
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"] == "Token"
        detail = answer.json()["detail"]
        assert "'Authorization: Token <token>'" in detail and "drf_create_token" in detail and token not in detail
    korean = client.get(BASE, HTTP_ACCEPT_LANGUAGE="ko")
    assert "Authorization: Token <token>" in korean.json()["detail"] and "웹훅" in korean.json()["detail"]
    # No header, or a wrong token under the right scheme: DRF's own answers, as before.
    assert APIClient().get(BASE).json()["detail"] == "Authentication credentials were not provided."
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get(BASE).json()["detail"] == "Invalid token."


def test_session_auth(config, operator, client):
    client.force_login(operator)
    assert client.get(BASE).status_code == 200


# --- events ------------------------------------------------------------------------------------------


def _event(owner, **values):
    defaults = {"config": owner, "service_name": owner.service_name, "action": "scale-out",
                "decision": Decision.BLOCK_COOLDOWN, "status": EventStatus.BLOCKED, "reason": "r"}
    defaults.update(values)
    return ScaleEvent.objects.create(**defaults)


def test_events_list_filters_and_pagination(api, config):
    allowed = _event(config, decision=Decision.ALLOW, status=EventStatus.SUCCEEDED)
    ScaleEventStage.objects.create(event=allowed, position=1, name="allocate-ip", status="succeeded")
    for _ in range(3):
        _event(config, action="scale-in", decision=Decision.BLOCK_MIN)
    _event(config, service_name="other-service", config=None)

    everything = api.get("/api/events/").json()
    assert everything["count"] == 5
    assert api.get("/api/events/?service=auto-vm-test").json()["count"] == 4
    assert api.get("/api/events/?service=auto-vm-test&action=scale-in").json()["count"] == 3
    only_allow = api.get("/api/events/?decision=ALLOW").json()
    assert only_allow["count"] == 1
    row = only_allow["results"][0]
    assert row["id"] == allowed.pk and row["serviceName"] == "auto-vm-test"
    assert row["stages"][0]["name"] == "allocate-ip"
    assert api.get("/api/events/?status=blocked&page=1").json()["count"] == 4
    assert api.get(f"/api/events/{allowed.pk}/").json()["decision"] == "ALLOW"

    bad = api.get("/api/events/?decision=MAYBE&action=up")
    assert bad.status_code == 400
    assert set(bad.json()) == {"decision", "action"}
    assert api.get("/api/events/?page=99").status_code == 404


def test_events_are_read_only(api, config):
    event = _event(config)
    assert api.post("/api/events/", {}, format="json").status_code == 405
    assert api.delete(f"/api/events/{event.pk}/").status_code == 405
    assert api.patch(f"/api/events/{event.pk}/", {"reason": "x"}, format="json").status_code == 405


def test_templates_api_in_the_seed_shape(api, template):
    """Template metadata: camelCase like the config API."""
    created = api.post("/api/templates/", {"name": "ubuntu-24.04-golden", "sourceVmName": "golden-24",
                                           "description": "base", "tags": ["web", "base"]}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {"id", "name", "sourceVmName", "vcenterPath", "datastore", "createdAt", "description", "tags"} <= set(body)
    assert body["sourceVmName"] == "golden-24" and body["tags"] == ["web", "base"]
    bad = api.post("/api/templates/", {"name": "bad/name", "tags": None}, format="json")
    assert bad.status_code == 400 and {"name", "tags"} <= set(bad.json())
    listed = api.get("/api/templates/").json()
    assert {row["name"] for row in listed["results"]} == {template.name, "ubuntu-24.04-golden"}


def test_overlapping_ip_pool_rejected(api, template, config):
    document = seed_document(template)
    document.update(serviceName="other-svc", prometheusJobName="other-svc", vmPrefix="other-svc")
    document["f5"].update(poolName="other-svc-pool", vipAddress="127.0.48.230")
    document["network"].update(ipPoolStart="127.0.48.225", ipPoolEnd="127.0.48.228")
    response = api.post(BASE, document, format="json")
    assert response.status_code == 400, response.content
    expected = "overlaps the pool 127.0.48.220–127.0.48.228 of service auto-vm-test"
    for key in ("ipPoolStart", "ipPoolEnd"):
        assert expected in response.json()["network"][key][0]
    assert not AutoscalingConfig.objects.filter(service_name="other-svc").exists()
    document["network"].update(ipPoolStart="127.0.48.230", ipPoolEnd="127.0.48.240")
    document["f5"]["vipAddress"] = "127.0.48.241"
    assert api.post(BASE, document, format="json").status_code == 201
