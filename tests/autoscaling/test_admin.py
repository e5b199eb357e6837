"""Admin: every model's pages, config validation messages in the form, actions, append-only events."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from autoscaling.choices import ManagedVMState
from autoscaling.models import AutoscalingConfig, CooldownState, IPLease, ManagedVM
from events.choices import Decision, EventStatus
from events.models import ScaleEvent, ScaleEventStage


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.invalid", "pw-root-123456")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def form_data(config_values: dict, **overrides) -> dict:
    data = {key: value for key, value in config_values.items() if key not in ("template", "enabled")}
    data["template"] = config_values["template"].pk
    data.update(scale_in_order="newest_first", network_mode="ssh_netplan", alert_repeat_interval_seconds=300,
                node_exporter_port=9100, dns_servers="", warm_pool_size=0)
    if config_values.get("enabled"):
        data["enabled"] = "on"
    data.update(overrides)
    return data


def test_vip_inside_pool_rejected_in_the_admin_form(admin_client, config_values):
    url = reverse("admin:autoscaling_autoscalingconfig_add")
    response = admin_client.post(url, form_data(config_values, f5_vip_address="127.0.48.225"))
    assert response.status_code == 200  # the form again, with errors
    errors = response.context["adminform"].form.errors
    assert errors["f5_vip_address"] == [
        "The VIP 127.0.48.225 lies inside the IP pool 127.0.48.220–127.0.48.228; it must be outside it."
    ]
    assert not AutoscalingConfig.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"min_vms": 5}, "max_vms", "greater than or equal to minimum"),
        ({"gateway": "127.0.48.222"}, "gateway", "inside the IP pool"),
        ({"ip_pool_end": "127.0.50.1"}, "ip_pool_end", "outside the subnet"),
        ({"scale_out_cpu_threshold": 101}, "scale_out_cpu_threshold", "less than or equal to 100"),
        ({"scale_in_memory_threshold": 95}, "scale_in_memory_threshold", "below the scale-out"),
        ({"dns_servers": "x"}, "dns_servers", "'x' is not an IP address"),
        ({"dns_servers": "127.0.0.53, dns.example"}, "dns_servers", "'dns.example' is not an IP address"),
        ({"ssh_key_path": "keys/id_ed25519"}, "ssh_key_path", "absolute path"),
    ],
)
def test_invalid_configs_rejected_in_admin(admin_client, config_values, overrides, field, fragment):
    response = admin_client.post(reverse("admin:autoscaling_autoscalingconfig_add"),
                                 form_data(config_values, **overrides))
    assert response.status_code == 200
    assert any(fragment in message for message in response.context["adminform"].form.errors[field])


def test_valid_config_saved_from_admin(admin_client, config_values):
    response = admin_client.post(reverse("admin:autoscaling_autoscalingconfig_add"), form_data(config_values))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert AutoscalingConfig.objects.get().f5_vip_address == "127.0.48.229"


def test_derived_names_may_be_left_empty_in_the_admin_as_on_the_pages(admin_client, config_values):
    """Adding a config in the admin, the job name, VM prefix and F5 pool follow the service name when left empty
    (the New config page and the API do so; the admin asked for them: "This field is required")."""
    url = reverse("admin:autoscaling_autoscalingconfig_add")
    form = admin_client.get(url).context["adminform"].form
    assert not form.fields["prometheus_job_name"].required
    assert form.fields["vm_prefix"].help_text == "Left empty: derived from the service name."
    response = admin_client.post(url, form_data(config_values, prometheus_job_name="", vm_prefix="", f5_pool_name=""))
    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = AutoscalingConfig.objects.get()
    assert (saved.prometheus_job_name, saved.vm_prefix, saved.f5_pool_name) == (
        "auto-vm-test-service", "auto-vm-test", "auto-vm-test-pool")
    # Editing, they stay required: emptying one is an error, not a silent rename.
    change = reverse("admin:autoscaling_autoscalingconfig_change", args=[saved.pk])
    response = admin_client.post(change, form_data(config_values, vm_prefix=""))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["vm_prefix"] == ["This field is required."]


def test_dns_servers_and_key_path_accepted_in_admin(admin_client, config_values):
    data = form_data(config_values, dns_servers="127.0.0.53, ::1;127.0.0.54", ssh_key_path="/etc/ixnode/id_ed25519")
    response = admin_client.post(reverse("admin:autoscaling_autoscalingconfig_add"), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    saved = AutoscalingConfig.objects.get()
    assert (saved.dns_servers, saved.ssh_key_path) == ("127.0.0.53, ::1;127.0.0.54", "/etc/ixnode/id_ed25519")


def test_fieldsets_grouped_like_the_seed(admin_client, config):
    response = admin_client.get(reverse("admin:autoscaling_autoscalingconfig_change", args=[config.pk]))
    assert response.status_code == 200
    names = [fieldset.name for fieldset in response.context["adminform"]]
    assert names == ["Service", "Scaling", "Monitoring", "Network", "F5", "SSH", "Artifacts", "Timestamps"]


def test_enable_disable_actions(admin_client, config):
    url = reverse("admin:autoscaling_autoscalingconfig_changelist")
    admin_client.post(url, {"action": "disable_configs", "_selected_action": [config.pk]})
    config.refresh_from_db()
    assert config.enabled is False
    admin_client.post(url, {"action": "enable_configs", "_selected_action": [config.pk]})
    config.refresh_from_db()
    assert config.enabled is True


def test_enable_refuses_an_invalid_config(admin_client, config):
    AutoscalingConfig.objects.filter(pk=config.pk).update(enabled=False, f5_vip_address="127.0.48.225")
    url = reverse("admin:autoscaling_autoscalingconfig_changelist")
    response = admin_client.post(url, {"action": "enable_configs", "_selected_action": [config.pk]}, follow=True)
    config.refresh_from_db()
    assert config.enabled is False
    assert any("was not enabled" in str(m) and "inside the IP pool" in str(m) for m in response.context["messages"])


def test_delete_refused_while_run_in_flight(admin_client, config):
    ScaleEvent.objects.create(config=config, service_name=config.service_name, action="scale-out",
                              decision=Decision.ALLOW, status=EventStatus.QUEUED)
    response = admin_client.post(reverse("admin:autoscaling_autoscalingconfig_delete", args=[config.pk]),
                                 {"post": "yes"}, follow=True)
    assert AutoscalingConfig.objects.filter(pk=config.pk).exists()
    assert any("cannot be deleted" in str(m) for m in response.context["messages"])
    changelist = admin_client.get(reverse("admin:autoscaling_autoscalingconfig_changelist"))
    assert "delete_selected" not in changelist.context["action_form"].fields["action"].choices.__repr__()


def test_delete_allowed_when_idle(admin_client, config):
    admin_client.post(reverse("admin:autoscaling_autoscalingconfig_delete", args=[config.pk]), {"post": "yes"})
    assert not AutoscalingConfig.objects.filter(pk=config.pk).exists()


def test_scale_events_are_append_only(admin_client, config):
    event = ScaleEvent.objects.create(config=config, service_name=config.service_name, action="scale-out",
                                      decision=Decision.ALLOW, status=EventStatus.SUCCEEDED, reason="ok")
    ScaleEventStage.objects.create(event=event, position=1, name="clone-vm", status="succeeded", log="cloned")
    assert admin_client.get(reverse("admin:events_scaleevent_add")).status_code == 403
    change_url = reverse("admin:events_scaleevent_change", args=[event.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200 and b"clone-vm" in page.content  # stages inline, read-only
    assert b'name="_save"' not in page.content
    admin_client.post(change_url, {"reason": "tampered"})
    event.refresh_from_db()
    assert event.reason == "ok"
    assert admin_client.post(reverse("admin:events_scaleevent_delete", args=[event.pk]),
                             {"post": "yes"}).status_code == 403
    assert ScaleEvent.objects.filter(pk=event.pk).exists()
    listing = admin_client.get(reverse("admin:events_scaleevent_changelist") + "?decision__exact=ALLOW")
    assert listing.status_code == 200 and listing.context["cl"].result_count == 1


def test_cooldown_admin_and_clear(admin_client, config):
    CooldownState.objects.create(config=config, last_scale_out_at=timezone.now(), last_scale_in_at=timezone.now())
    url = reverse("admin:autoscaling_cooldownstate_changelist")
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"action": "clear_cooldowns", "_selected_action": [config.pk]})
    state = CooldownState.objects.get(pk=config.pk)
    assert state.last_scale_out_at is None and state.last_scale_in_at is None


def test_managed_vm_protection_and_lease_admin(admin_client, config):
    vm = ManagedVM.objects.create(config=config, name="auto-vm-test-20250101000600", state=ManagedVMState.IN_SERVICE,
                                  ip_address="127.0.48.220")
    IPLease.objects.create(config=config, ip_address="127.0.48.220", vm_name=vm.name)
    url = reverse("admin:autoscaling_managedvm_changelist")
    admin_client.post(url, {"action": "protect", "_selected_action": [vm.pk]})
    vm.refresh_from_db()
    assert vm.scale_in_protected is True
    assert admin_client.get(reverse("admin:autoscaling_managedvm_add")).status_code == 403
    assert admin_client.get(reverse("admin:autoscaling_iplease_changelist") + "?q=127.0.48.220").status_code == 200
    assert admin_client.get(reverse("admin:autoscaling_iplease_add")).status_code == 403


@pytest.mark.parametrize("model", ["autoscaling_autoscalingconfig", "autoscaling_cooldownstate",
                                   "autoscaling_iplease", "autoscaling_managedvm", "events_scaleevent"])
def test_changelists_render(admin_client, config, model):
    response = admin_client.get(reverse(f"admin:{model}_changelist") + "?q=auto")
    assert response.status_code == 200


def test_overlapping_ip_pool_rejected_in_admin(admin_client, config, config_values):
    other = dict(config_values, service_name="other-svc", prometheus_job_name="other-svc", vm_prefix="other-svc",
                 f5_pool_name="other-svc-pool", ip_pool_start="127.0.48.200", ip_pool_end="127.0.48.221",
                 f5_vip_address="127.0.48.230")
    response = admin_client.post(reverse("admin:autoscaling_autoscalingconfig_add"), form_data(other))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    for field in ("ip_pool_start", "ip_pool_end"):
        assert any("overlaps the pool 127.0.48.220–127.0.48.228 of service auto-vm-test" in m for m in errors[field])
    assert not AutoscalingConfig.objects.filter(service_name="other-svc").exists()
    # A disjoint pool is fine, and editing a config does not collide with its own pool.
    response = admin_client.post(reverse("admin:autoscaling_autoscalingconfig_add"),
                                 form_data(other, ip_pool_end="127.0.48.219"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    response = admin_client.post(reverse("admin:autoscaling_autoscalingconfig_change", args=[config.pk]),
                                 form_data(config_values, max_vms=5))
    assert response.status_code == 302


def test_trim_warm_pool_action_reports_and_never_500s(admin_client, config, settings):
    from events.models import ScaleEvent

    url = reverse("admin:autoscaling_autoscalingconfig_changelist")
    response = admin_client.post(url, {"action": "trim_warm_pools", "_selected_action": [config.pk]}, follow=True)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        f"{config.service_name}: no stale warm VM and none above the pool size"]

    # a run in flight: refused with a message naming it
    run = ScaleEvent.objects.create(config=config, service_name=config.service_name, action="scale-out",
                                    decision="ALLOW", status="running")
    response = admin_client.post(url, {"action": "trim_warm_pools", "_selected_action": [config.pk]}, follow=True)
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"]]
    assert "the warm pool was not trimmed" in message and f"run #{run.pk}" in message
