"""The service page: config at a glance, run in flight (live JSON), recent events, change history with a diff."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytest_plugins = ["tests.fixtures.config_pages"]  # engineer_client (not only when another module loaded it first)

pytestmark = pytest.mark.django_db


def test_service_page_requires_permission(client, nobody_client, config):
    url = reverse("autoscaling:service", args=[config.service_name])
    assert client.get(url).status_code == 302
    assert nobody_client.get(url).status_code == 403
    assert nobody_client.get(reverse("autoscaling:service-run", args=[config.service_name])).status_code == 403


def test_service_page_shows_run_events_and_history(operator_client, operator, config, make_event, make_run,
                                                   django_assert_max_num_queries):
    for i in range(30):
        make_event(config, decision="BLOCK_COOLDOWN", status="blocked", reason=f"cooldown {i}")
    run = make_run(config)
    config.scale_out_cpu_threshold = 85
    config.max_vms = 6
    config._history_user = operator
    config.save()
    from policies.models import WhatIfRun
    from policies.services import policy_save

    for policy_type in ("step", "target_tracking", "recommended"):  # the policy's history, merged into the config's
        policy_save(config=config, values={"policy_type": policy_type})
    for days in (1, 2, 3):
        WhatIfRun.objects.create(config=config, days=days)
    # a bounded number, whatever the counts: the config's and the policy's history, the latest what-if run (the
    # service's VMs are read by the instances panel, its own URL)
    with django_assert_max_num_queries(13):
        response = operator_client.get(reverse("autoscaling:service", args=[config.service_name]))
    assert response.status_code == 200
    body = response.content.decode()
    assert f"#{run.pk}" in body
    assert 'data-stage="allocate_ip" data-status="running"' in body
    assert body.count("cooldown ") >= 14  # recent events, bounded to the latest 15
    history = response.context["history"]
    policy_changes = [entry for entry in history if any(c.field == "policy_type" for c in entry.changes)]
    assert len(policy_changes) == 3 and history[0] is policy_changes[0]
    assert [c.new for c in history[0].changes] == ["Recommended (the seed's band, decided on the freshest measurement)"]
    config_change = history[3]
    assert config_change.who == "operator" and config_change.kind == "changed"
    changed = {c.field: (c.old, c.new) for c in config_change.changes}
    assert changed == {"scale_out_cpu_threshold": ("80", "85"), "max_vms": ("4", "6")}
    assert 'href="/services/auto-vm-test/whatif/' in body  # the latest what-if run
    assert 'data-field="max_vms"' in body and "<del>4</del>" in body and "<ins>6</ins>" in body
    assert history[-1].kind == "created"
    assert operator_client.get(reverse("autoscaling:service", args=["missing"])).status_code == 404
    assert '<dd id="warm-pool">off</dd>' in body


def test_service_page_lists_the_warm_pool(operator_client, config):
    from autoscaling.models import ManagedVM

    config.warm_pool_size = 2
    config.save()
    ManagedVM.objects.create(config=config, name=f"{config.vm_prefix}-20250101000000", ip_address="127.0.48.221",
                             state="warm")
    ManagedVM.objects.create(config=config, name=f"{config.vm_prefix}-20250101000001", ip_address="127.0.48.222",
                             state="in_service")
    body = operator_client.get(reverse("autoscaling:service", args=[config.service_name])).content.decode()
    warm = body.split('<dd id="warm-pool">')[1].split("</dd>")[0]
    assert warm.startswith("1 of 2 powered off: ")
    assert f"{config.vm_prefix}-20250101000000 (127.0.48.221)" in warm and "127.0.48.222" not in warm


def test_run_json_follows_stage_updates(operator_client, config, make_run, django_assert_max_num_queries):
    from events.models import ScaleEventStage

    run = make_run(config)
    url = reverse("autoscaling:service-run", args=[config.service_name])
    with django_assert_max_num_queries(7):
        first = operator_client.get(url).json()
    assert first["event"]["id"] == run.pk
    assert first["event"]["stages"][0]["status"] == "running"
    ScaleEventStage.objects.filter(event=run, position=1).update(status="succeeded", log="leased 127.0.48.221\nok\n")
    ScaleEventStage.objects.filter(event=run, position=2).update(status="running")
    run.current_stage = "clone"
    run.save(update_fields=["current_stage"])
    second = operator_client.get(url).json()["event"]
    assert [s["status"] for s in second["stages"][:3]] == ["succeeded", "running", "pending"]
    assert second["current_stage_label"] == "Clone VMs from the template"
    assert second["stages"][0]["log_tail"].endswith("ok")


def test_run_json_without_runs(operator_client, config):
    data = operator_client.get(reverse("autoscaling:service-run", args=[config.service_name])).json()
    assert data == {"active": True, "event": None}


def test_the_instances_panel_has_its_own_url_behind_the_same_login(nobody_client, operator_client, config):
    """The page's placeholder loads the panel from here: the same login and permission as the page, 404 for a
    service that does not exist (asked before any system is), GET only."""
    from django.test import Client

    url = reverse("autoscaling:service-instances", args=[config.service_name])
    assert url == "/services/auto-vm-test/instances/"
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert nobody_client.get(url).status_code == 403
    assert operator_client.get(reverse("autoscaling:service-instances", args=["missing"])).status_code == 404
    assert operator_client.post(url).status_code == 405
    page = operator_client.get(reverse("autoscaling:service", args=[config.service_name]))
    assert "panel" not in page.context and f'data-fragment-url="{url}"' in page.content.decode()


def test_the_instances_url_is_a_page_of_its_own_for_a_browser(engineer_client, config, django_assert_num_queries):
    """The page's script asks for the panel alone (its header); a browser opening the same URL (the placeholder's
    link without JavaScript) gets a page: the site's layout, a title, a way back to the service and the manual
    forms, which come back to that page. The fragment costs what it did: no query more."""
    url = reverse("autoscaling:service-instances", args=[config.service_name])
    with django_assert_num_queries(6):  # session, user, the user's and groups' permissions, config (+policy), VMs
        fragment = engineer_client.get(url, headers={"X-IXNode-Fragment": "1"})
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "X-IXNode-Fragment" in fragment["Vary"]
    assert body.lstrip().startswith('<section class="card" id="instances">') and "<html" not in body
    assert 'id="manual-actions"' in body and 'name="back"' not in body

    with django_assert_num_queries(6):
        page = engineer_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "X-IXNode-Fragment" in page["Vary"]
    assert html.lstrip().startswith("<!DOCTYPE html>") and 'class="topbar"' in html and 'class="mainnav"' in html
    assert "<title>Instances · auto-vm-test · IXNode</title>" in html
    assert f'<a class="button" href="/services/{config.service_name}/" id="back-to-service">Back to the service</a>' \
        in html
    panel = html.split('<section class="card" id="instances">')[1].split("</section>")[0]
    assert 'id="instance-table"' in panel and 'id="manual-actions"' in panel
    forms = panel.split("<form")[1:]
    assert len(forms) == 3 and all('<input type="hidden" name="back" value="instances">' in f for f in forms)
    assert 'data-fragment-url' not in html  # nothing on this page loads itself again


def test_the_instances_page_in_korean(engineer_client, config):
    page = engineer_client.get(reverse("autoscaling:service-instances", args=[config.service_name]),
                               headers={"Accept-Language": "ko"})
    html = page.content.decode()
    assert '<html lang="ko">' in html and "서비스로 돌아가기" in html and "Back to the service" not in html
