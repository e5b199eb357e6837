"""The config pages: create with derived names, edit, the same field errors as the API, permissions, CSRF, the
policy section and the dry-run / suspend switches."""

from __future__ import annotations

import pytest
from django.urls import reverse

from autoscaling.models import AutoscalingConfig
from autoscaling.naming import config_derived_names
from policies.models import ScalingPolicy

pytest_plugins = ["tests.fixtures.config_pages"]
pytestmark = pytest.mark.django_db

CREATE = reverse("autoscaling:config-create")


def form_data(tpl, **overrides) -> dict:
    """What the create form posts for a valid config (the seed's example on loopback, VIP outside the pool)."""
    data = {
        "service_name": "shop-web", "prometheus_job_name": "", "vm_prefix": "", "template": str(tpl.pk),
        "scale_out_cpu_threshold": "80", "scale_out_memory_threshold": "80", "scale_out_duration_minutes": "1",
        "scale_in_cpu_threshold": "30", "scale_in_memory_threshold": "30", "scale_in_duration_minutes": "5",
        "cooldown_seconds": "300", "alert_repeat_interval_seconds": "300", "node_exporter_port": "9100",
        "min_vms": "2", "max_vms": "4", "scale_out_step": "1", "scale_in_step": "1", "scale_in_order": "newest_first",
        "warm_pool_size": "0", "network_mode": "ssh_netplan", "ip_pool_start": "127.0.50.220",
        "ip_pool_end": "127.0.50.228", "gateway": "127.0.50.1", "subnet_cidr": "127.0.50.0/24", "vlan_id": "1048",
        "dns_servers": "", "f5_pool_name": "", "f5_vip_address": "127.0.50.229", "f5_vip_port": "80",
        "f5_health_check_path": "/health", "ssh_user": "ubuntu", "ssh_key_path": "/etc/ixnode/ssh/id_ed25519",
        "policy_type": "step", "metric": "cpu", "target_utilisation": "60",
    }
    data.update(overrides)
    return data


def field_errors(response, name: str) -> list[str]:
    return list(response.context["form"].errors.get(name, []))


def test_derived_names_follow_the_seed_example():
    assert config_derived_names("auto-vm-test") == {
        "prometheus_job_name": "auto-vm-test-service", "vm_prefix": "auto-vm-test",
        "f5_pool_name": "auto-vm-test-pool"}
    long_name = "a" * 49 + "-b" + "c" * 12  # 63 characters: the prefix is cut at 50 without a trailing hyphen
    assert config_derived_names(long_name)["vm_prefix"] == "a" * 49
    assert config_derived_names("Not_A_Label") == {}


def test_create_page_needs_the_add_permission(operator_client, engineer_client):
    from django.test import Client

    assert Client().get(CREATE).status_code == 302  # anonymous: to the login page
    assert operator_client.get(CREATE).status_code == 403  # view permission only
    response = engineer_client.get(CREATE)
    assert response.status_code == 200
    body = response.content.decode()
    # The seed's sections, in its order, and every field's rule before anything is saved.
    sections = ["section-service", "section-template", "section-monitoring", "section-scaling", "section-network",
                "section-f5", "section-ssh", "section-policy"]
    assert [body.index(f'id="{s}"') for s in sections] == sorted(body.index(f'id="{s}"') for s in sections)
    assert "Lower-case letters, digits and hyphens, at most 63" in body
    assert "outside the IP pool" in body and "Empty: &lt;service name&gt;-service." in body
    assert 'data-derived="vm_prefix"' in body and 'data-job-suffix="-service"' in body


def test_create_derives_names_and_stays_disabled(engineer_client, engineer, template):
    response = engineer_client.post(CREATE, form_data(template))
    assert response.status_code == 302 and response.url == reverse("autoscaling:service", args=["shop-web"])
    config = AutoscalingConfig.objects.get(service_name="shop-web")
    assert (config.prometheus_job_name, config.vm_prefix, config.f5_pool_name) == (
        "shop-web-service", "shop-web", "shop-web-pool")
    assert config.enabled is False
    assert config.history.first().history_user == engineer
    assert not ScalingPolicy.objects.filter(config=config).exists()  # the step default creates no policy row


def test_bad_input_gives_the_api_field_errors_at_the_field(engineer_client, template, django_user_model):
    # The seed's own mistake: the VIP inside the pool; and a scale-in threshold above the scale-out one.
    bad = {"f5_vip_address": "127.0.50.225", "scale_in_cpu_threshold": "90"}
    response = engineer_client.post(CREATE, form_data(template, **bad))
    assert response.status_code == 400
    assert not AutoscalingConfig.objects.exists()
    page_vip, page_cpu = field_errors(response, "f5_vip_address"), field_errors(response, "scale_in_cpu_threshold")
    body = response.content.decode()
    assert 'id="error-f5_vip_address"' in body and 'id="error-scale_in_cpu_threshold"' in body

    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(django_user_model.objects.create_superuser("root", "r@example.test", "x"))
    document = {
        "serviceName": "shop-web", "templateId": template.pk, "minVms": 2, "maxVms": 4, "scaleOutStep": 1,
        "scaleInStep": 1, "sshUser": "ubuntu", "sshKeyPath": "/etc/ixnode/ssh/id_ed25519",
        "monitoring": {"cpuThreshold": 80, "memoryThreshold": 80, "durationMinutes": 1, "scaleInCpuThreshold": 90,
                       "scaleInMemoryThreshold": 30, "scaleInDurationMinutes": 5, "cooldownSeconds": 300},
        "network": {"ipPoolStart": "127.0.50.220", "ipPoolEnd": "127.0.50.228", "gateway": "127.0.50.1",
                    "subnetCidr": "127.0.50.0/24", "vlanId": 1048},
        "f5": {"vipAddress": "127.0.50.225", "vipPort": 80, "healthCheckPath": "/health"},
    }
    answer = api.post("/api/autoscaling/configs/", document, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["f5"]["vipAddress"] == page_vip
    assert answer.json()["monitoring"]["scaleInCpuThreshold"] == page_cpu
    assert "inside the IP pool" in page_vip[0]


def test_api_create_derives_the_same_names(template, django_user_model):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(django_user_model.objects.create_superuser("root", "r@example.test", "x"))
    document = {
        "serviceName": "cart-api", "templateId": template.pk, "minVms": 2, "maxVms": 4, "scaleOutStep": 1,
        "scaleInStep": 1, "sshUser": "ubuntu", "sshKeyPath": "",
        "monitoring": {"cpuThreshold": 80, "memoryThreshold": 80, "durationMinutes": 1, "scaleInCpuThreshold": 30,
                       "scaleInMemoryThreshold": 30, "scaleInDurationMinutes": 5, "cooldownSeconds": 300},
        "network": {"ipPoolStart": "127.0.51.220", "ipPoolEnd": "127.0.51.228", "gateway": "127.0.51.1",
                    "subnetCidr": "127.0.51.0/24", "vlanId": 0},
        "f5": {"vipAddress": "127.0.51.229", "vipPort": 80, "healthCheckPath": "/health"},
    }
    answer = api.post("/api/autoscaling/configs/", document, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["prometheusJobName"], body["vmPrefix"], body["f5"]["poolName"]) == (
        "cart-api-service", "cart-api", "cart-api-pool")


@pytest.mark.parametrize("overrides, field", [
    ({"min_vms": "two"}, "min_vms"),
    ({"template": "999999"}, "template"),
    ({"service_name": "Shop_Web"}, "service_name"),
    ({"ip_pool_start": "10.0.0.300"}, "ip_pool_start"),
    ({"subnet_cidr": "127.0.50.1/24"}, "subnet_cidr"),
    ({"scale_in_order": "random"}, "scale_in_order"),
    ({"target_utilisation": "0"}, "target_utilisation"),
    ({"ssh_key_path": "id_rsa"}, "ssh_key_path"),
    ({"max_vms": "1"}, "max_vms"),
])
def test_bad_input_is_a_form_error_never_a_500(engineer_client, template, overrides, field):
    response = engineer_client.post(CREATE, form_data(template, **overrides))
    assert response.status_code == 400
    assert field_errors(response, field), response.context["form"].errors
    assert not AutoscalingConfig.objects.exists()


def test_a_bad_service_name_alone_is_reported(engineer_client, template):
    response = engineer_client.post(CREATE, form_data(template, service_name="Shop_Web"))
    errors = response.context["form"].errors
    assert set(errors) == {"service_name"}, errors  # not also "cannot be blank" at the names derived from it


def test_a_duplicate_name_is_refused_at_its_field(engineer_client, template, config):
    response = engineer_client.post(CREATE, form_data(template, service_name=config.service_name))
    assert response.status_code == 400
    assert field_errors(response, "service_name")


def test_check_without_saving(engineer_client, template):
    response = engineer_client.post(CREATE, {**form_data(template), "_check": "1"})
    assert response.status_code == 200
    assert 'id="check-passed"' in response.content.decode()
    assert not AutoscalingConfig.objects.exists()


def test_policy_section_creates_and_updates_the_policy(engineer_client, template):
    response = engineer_client.post(CREATE, form_data(template, policy_type="target_tracking",
                                                      target_utilisation="55"))
    assert response.status_code == 302
    policy = ScalingPolicy.objects.get(config__service_name="shop-web")
    assert (policy.policy_type, policy.target_utilisation) == ("target_tracking", 55)
    edit = reverse("autoscaling:config-edit", args=["shop-web"])
    data = form_data(template, prometheus_job_name="shop-web-service", vm_prefix="shop-web",
                     f5_pool_name="shop-web-pool", policy_type="step", target_utilisation="70")
    assert engineer_client.post(edit, data).status_code == 302
    policy.refresh_from_db()
    assert (policy.policy_type, policy.target_utilisation) == ("step", 70)


def test_policy_section_needs_the_policy_permission(client, django_user_model, template):
    from tests.fixtures.config_pages import grant

    user = django_user_model.objects.create_user("configs-only", password="x")
    grant(user, [("autoscaling", "view_autoscalingconfig"), ("autoscaling", "add_autoscalingconfig")])
    client.force_login(user)
    body = client.get(CREATE).content.decode()
    assert 'id="section-policy"' not in body
    response = client.post(CREATE, form_data(template, policy_type="target_tracking"))
    assert response.status_code == 302
    assert not ScalingPolicy.objects.exists()  # the field was not on the form: nothing written


def test_edit_keeps_the_name_and_records_the_operator(engineer_client, engineer, config):
    edit = reverse("autoscaling:config-edit", args=[config.service_name])
    page = engineer_client.get(edit)
    assert page.status_code == 200
    data = {k: ("" if v is None else (v.pk if hasattr(v, "pk") else v))
            for k, v in page.context["form"].initial.items()}
    data.update(service_name="renamed", max_vms="6")
    response = engineer_client.post(edit, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    config.refresh_from_db()
    assert (config.service_name, config.max_vms) == ("auto-vm-test", 6)  # the name cannot change here
    latest = config.history.first()
    assert latest.history_user == engineer
    assert {c.field for c in latest.diff_against(latest.prev_record).changes} == {"max_vms"}


def test_edit_with_bad_input_changes_nothing(engineer_client, config):
    edit = reverse("autoscaling:config-edit", args=[config.service_name])
    data = {k: ("" if v is None else (v.pk if hasattr(v, "pk") else v))
            for k, v in engineer_client.get(edit).context["form"].initial.items()}
    data.update(gateway="127.0.48.225")  # inside the pool
    response = engineer_client.post(edit, data)
    assert response.status_code == 400
    assert "inside the IP pool" in field_errors(response, "gateway")[0]
    config.refresh_from_db()
    assert config.gateway == "127.0.48.1"


def test_edit_needs_the_change_permission(operator_client, config):
    edit = reverse("autoscaling:config-edit", args=[config.service_name])
    assert operator_client.get(edit).status_code == 403
    assert operator_client.post(edit, {}).status_code == 403


def test_posts_need_the_csrf_token(csrf_client, template, config):
    assert csrf_client.post(CREATE, form_data(template)).status_code == 403
    for name in ("config-disable", "service-controls", "service-scale"):
        assert csrf_client.post(reverse(f"autoscaling:{name}", args=[config.service_name])).status_code == 403
    page = csrf_client.get(CREATE)
    token = page.cookies["csrftoken"].value
    response = csrf_client.post(CREATE, {**form_data(template, service_name="with-token"),
                                         "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_dry_run_and_suspend_switches(engineer_client, operator_client, config):
    url = reverse("autoscaling:service-controls", args=[config.service_name])
    assert operator_client.post(url, {"dry_run": "on"}).status_code == 403
    assert engineer_client.post(url, {"dry_run": "on"}).status_code == 302
    policy = ScalingPolicy.objects.get(config=config)
    assert policy.dry_run is True
    assert engineer_client.post(url, {"process": "scale_in", "suspend": "on"}).status_code == 302
    policy.refresh_from_db()
    assert policy.suspended_processes == ["scale_in"]
    page = engineer_client.get(reverse("autoscaling:service", args=[config.service_name])).content.decode()
    assert 'data-dry-run="on"' in page and 'data-process="scale_in" data-suspended="1"' in page
    engineer_client.post(url, {"process": "scale_in", "suspend": "off"})
    engineer_client.post(url, {"dry_run": "off"})
    response = engineer_client.post(url, {"process": "nonsense", "suspend": "on"}, follow=True)
    assert "Unknown switch" in response.content.decode()
    policy.refresh_from_db()
    assert (policy.dry_run, policy.suspended_processes) == (False, [])


def test_admin_and_service_page_link_both_ways(admin_client, config):
    change = reverse("admin:autoscaling_autoscalingconfig_change", args=[config.pk])
    body = admin_client.get(change).content.decode()
    assert config.get_absolute_url() == "/services/auto-vm-test/"
    assert "View on site" in body
    service = admin_client.get(config.get_absolute_url()).content.decode()
    assert f'href="{change}"' in service


def test_the_pages_in_korean(engineer_client, config, settings):
    from django.utils import translation

    settings.IXNODE_VCENTER_HOST = ""
    pages = [CREATE, reverse("autoscaling:config-edit", args=[config.service_name]),
             reverse("autoscaling:config-enable", args=[config.service_name]),
             reverse("autoscaling:service", args=[config.service_name]),
             reverse("autoscaling:service-instances", args=[config.service_name])]
    english = ["New autoscaling config", "Check without saving", "Inside the subnet, outside the IP pool.",
               "Back to the service", "Template in vCenter", "SSH key readable", "could not be checked",
               "Instances", "Scale out by", "Desired count", "Switches", "Turn on", "base VMs are never scaled in",
               "power states are not shown", "Each action is one decision", "Loading instances", "Show instances",
               "The instances could not be loaded"]
    bodies = []
    try:
        for url in pages:
            response = engineer_client.get(url, HTTP_ACCEPT_LANGUAGE="ko")
            assert response.status_code == 200, url
            bodies.append(response.content.decode())
    finally:
        translation.deactivate()  # the middleware left Korean active in this thread: later tests expect English
    text = "\n".join(bodies)
    for phrase in english:
        assert phrase not in text, phrase
    for korean in ("새 오토스케일링 설정", "저장하지 않고 점검", "서브넷 안, IP 풀 밖.", "사전 점검", "인스턴스",
                   "희망 개수", "스위치", "전원 상태를 표시하지 않습니다", "인스턴스 불러오는 중…", "인스턴스 보기",
                   "인스턴스를 불러오지 못했습니다."):
        assert korean in text, korean


def test_an_empty_post_is_a_form_with_errors(engineer_client):
    response = engineer_client.post(CREATE, {})
    assert response.status_code == 400
    assert field_errors(response, "service_name") and field_errors(response, "template")
