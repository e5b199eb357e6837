"""Korean complete: a real Chromium walks every page in Korean and no English string of the product's catalogue
is left on any of them (overview, service, events list and detail, diagnostics, templates, exporters, the admin
index, every changelist of the product's models, a change form and its history).

The browser sends ``Accept-Language: en-US`` while the operator set ``LANGUAGE_CODE=ko``: the operator's choice
wins (docs/i18n.md). Integrations are down or unset on purpose, so the explained errors are walked too.
Screenshots go to pytest's tmp dir (``IXNODE_SCREENSHOTS_DIR`` to keep them elsewhere).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.fixtures.catalogue import english_strings, untranslated
from tests.fixtures.prometheus import free_port

pytest_plugins = ["tests.fixtures.browser"]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "root-pass-for-tests-123"
HANGUL = re.compile(r"[\uac00-\ud7a3]")

# Visible text of the page: text nodes that render, the options of visible selects, and the attributes people read
# (title, placeholder, aria-label, button values). Technical detail (pre, code) and data marked translate="no" are
# the systems' own words and stay out.
VISIBLE_TEXTS_JS = """() => {
  const skip = el => el.closest('script, style, noscript, pre, code, [translate="no"]');
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const el = node.parentElement;
    if (!el || skip(el)) continue;
    const owner = el.closest('option') ? el.closest('select') : el;
    if (owner && shown(owner) && node.textContent.trim()) out.push(node.textContent.trim());
  }
  document.querySelectorAll('[title], [placeholder], [aria-label], input[type=submit], input[type=button]')
    .forEach(el => {
      if (skip(el) || !shown(el)) return;
      ['title', 'placeholder', 'aria-label'].forEach(a => { if (el.getAttribute(a)) out.push(el.getAttribute(a)); });
      if (el.matches('input[type=submit], input[type=button]') && el.value) out.push(el.value);
    });
  out.push(document.title);
  return out;
}"""


def screenshots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("IXNODE_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def korean_site(live_server, settings):
    """The operator's LANGUAGE_CODE=ko; Prometheus and Alertmanager down (a closed port); vCenter, F5 unset."""
    settings.LANGUAGE_CODE = "ko"
    settings.IXNODE_LANGUAGE_FROM_BROWSER = False
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_ALERTMANAGER_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_PROMETHEUS_TIMEOUT = settings.IXNODE_ALERTMANAGER_TIMEOUT = 2
    settings.IXNODE_PUBLIC_URL = live_server.url
    settings.IXNODE_VCENTER_HOST = ""
    settings.IXNODE_F5_HOST = ""
    settings.IXNODE_JENKINS_URL = ""
    settings.IXNODE_PLG_MODE = "off"
    cache.clear()
    return live_server.url


@pytest.fixture
def estate(make_config, make_event, make_run, django_user_model):
    """A config of each kind with events of every decision, a failed run, a template, an exporter install, a
    notification, a policy, leases and VMs — something on every page and changelist."""
    from autoscaling.models import CooldownState, IPLease, ManagedVM
    from events.choices import Decision
    from events.models import ScaleEventStage
    from events.reasons import STAGE_FAILED, Reason, reason_fields
    from exporters.models import ExporterInstall, ExporterInstallHost
    from notifications.models import SentNotification
    from policies.models import ScalingPolicy, WhatIfRun

    root = django_user_model.objects.create_superuser("root", "root@example.test", PASSWORD)
    shop = make_config("shop-web", octet=70, min_vms=2, max_vms=4, artifacts_status="active",
                       artifacts_published_at=timezone.now())
    make_config("cart-api", octet=71, artifacts_status="error",
                artifacts_error="PLG: Prometheus at http://127.0.0.1:1 answered HTTP 500 on /-/reload.")
    make_config("search", octet=72, enabled=False)
    shop.max_vms = 5
    shop._history_user = root
    shop.save()
    CooldownState.objects.create(config=shop, last_scale_out_at=timezone.now() - dt.timedelta(seconds=30))
    reasons = {
        Decision.ALLOW: Reason("adding", moved=1, count=2, after=3, max=5),
        Decision.BLOCK_MAX: Reason("at_max", count=5, max=5),
        Decision.BLOCK_MIN: Reason("at_min", count=2, min=2),
        Decision.BLOCK_COOLDOWN: Reason("cooldown_out", left=42.0),
        Decision.BLOCK_IN_PROGRESS: Reason("in_flight"),
        Decision.BLOCK_DISABLED: Reason("suspended_out"),
        Decision.BLOCK_UNKNOWN_COUNT: Reason(
            "count_unknown_error", error="Prometheus at http://127.0.0.1:9 is unreachable: NewConnectionError: "
            "HTTPConnection(host='127.0.0.1', port=9): Failed to establish a new connection: [Errno 111] "
            "Connection refused (check IXNODE_PROMETHEUS_URL and that Prometheus is running)."),
        Decision.BLOCK_IP_POOL: Reason("ip_pool_empty"),
    }
    for minutes, (decision, reason) in enumerate(reasons.items(), start=1):
        make_event(shop, minutes_ago=minutes * 3, decision=decision,
                   status="succeeded" if decision == Decision.ALLOW else "blocked",
                   after_count=3 if decision == Decision.ALLOW else None, **reason_fields(reason))
    failed = make_event(shop, minutes_ago=40, status="rolled_back", after_count=2,
                        error=STAGE_FAILED % {"stage": "clone", "error": "vCenter vc.example.test:443 refused the "
                                              "connection while trying to clone: check "
                                              "IXNODE_VCENTER_HOST/IXNODE_VCENTER_PORT."},
                        rollback_summary="released 127.0.70.221", **reason_fields(reasons[Decision.ALLOW]))
    for position, (name, status) in enumerate((("allocate_ip", "rolled_back"), ("clone", "failed"),
                                               ("power_on", "skipped")), start=1):
        ScaleEventStage.objects.create(event=failed, position=position, name=name, status=status,
                                       started_at=timezone.now(), finished_at=timezone.now(), log="log line\n")
    run = make_run(shop, **reason_fields(reasons[Decision.ALLOW]))
    IPLease.objects.create(config=shop, ip_address="127.0.70.221", vm_name="shop-web-20260301101500", event=run)
    ManagedVM.objects.create(config=shop, name="shop-web-20260301101500", ip_address="127.0.70.221",
                             state="in_service", created_by_event=run)
    install = ExporterInstall.objects.create(components=["node_exporter"], config=shop, ssh_user="ubuntu",
                                             ssh_key_path="/etc/ixnode/id_ed25519", status="failed",
                                             error="SSH to 127.0.70.10:22: connection refused", created_by=root)
    ExporterInstallHost.objects.create(install=install, vm_name="shop-web-1", address="127.0.70.10", status="failed",
                                       step="failed", log="ERROR: connection refused")
    SentNotification.objects.create(service_name="shop-web", kind="integration_down", key="prometheus",
                                    text="Prometheus: down", last_sent_at=timezone.now())
    # the policy's last evaluation and an event it triggered: their notes (policies.engine.notes) in Korean
    from events.reasons import reason_parts
    from policies.engine.evaluate import PolicyInput, evaluate_policy, recommended_settings
    from policies.engine.target_tracking import VMUtilisation

    now = timezone.now()
    history = [(now.timestamp() - 60 * i, 150, 150) for i in range(60, 0, -1)]
    outcome = evaluate_policy(recommended_settings(scale_out_threshold=80.0), PolicyInput(
        now=now, enabled=True, min_vms=2, max_vms=5, cooldown_seconds=300, current_vm_count=2,
        vms=[VMUtilisation(90.0)] * 2, history=history))
    policy = ScalingPolicy.objects.create(config=shop, last_evaluated_at=now, last_evaluation=outcome.reason,
                                          last_evaluation_parts=reason_parts(outcome.reason))
    by_policy = make_event(shop, minutes_ago=50, trigger="policy", triggered_by="recommended policy",
                           trigger_parts=reason_parts(outcome.reason, with_text=True),
                           **reason_fields(reasons[Decision.ALLOW]))
    row = {"key": "step", "policy_type": "step", "simulated_as": "step", "current": False, "overload_minutes": 10.0,
           "vm_hours": 6.4, "stopped_vm_hours": 0.0, "scale_outs": 1, "scale_ins": 1, "scale_actions": 2, "flaps": 0,
           "peak_vms": 3, "parameters": "scale-out > 80 % for 1 min"}
    whatif = WhatIfRun.objects.create(
        config=shop, days=7, status="succeeded", progress=100, step_seconds=120, created_by=root,
        result={"step_seconds": 120, "points": 5040, "gap_points": 10, "gap_minutes": 20.0, "known_minutes": 10060.0,
                "initial_vms": 2, "history_vm_hours": 340.0, "has_policy": False, "current_policy_type": "step",
                "demand_peak": 181.0,
                "rows": [row, {**row, "key": "recommended", "policy_type": "recommended", "current": True}]})
    whatif_failed = WhatIfRun.objects.create(
        config=shop, days=3, status="failed", progress=0,
        error="Prometheus at http://127.0.0.1:9 is unreachable: NewConnectionError: [Errno 111] Connection refused",
        result={"error_code": "prometheus", "error_params": {"error": "unreachable"}})
    return {"root": root, "shop": shop, "failed": failed, "install": install, "whatif": whatif,
            "whatif_failed": whatif_failed, "policy": policy, "by_policy": by_policy}


def _check(page, url: str, strings, shots: Path, name: str) -> list[tuple[str, str, str]]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    # Panels loaded after the page (the service page's instances) are in it: the placeholders are gone.
    page.wait_for_function("!document.querySelector('[data-fragment-url]')")
    texts = page.evaluate(VISIBLE_TEXTS_JS)
    page.screenshot(path=str(shots / f"ko-{name}.png"), full_page=True)
    assert any(HANGUL.search(t) for t in texts), f"{url}: no Korean at all"
    assert page.locator("html").get_attribute("lang") == "ko", url
    return [(url, text, msgid) for text, msgid in untranslated(texts, strings)]


def test_every_page_in_korean_has_no_english_left(page, korean_site, estate, tmp_path):
    from django.apps import apps
    from django.contrib import admin

    strings = english_strings()
    assert len(strings) > 500  # the catalogue was read
    shots = screenshots_dir(tmp_path)
    site = korean_site
    page.goto(site + "/")
    assert "로그인" in page.content()  # the login page, before anything else
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site + "/")

    shop, failed, install = estate["shop"], estate["failed"], estate["install"]
    pages = {
        "overview": "/",
        "service": f"/services/{shop.service_name}/",
        "instances": f"/services/{shop.service_name}/instances/",  # the panel's page without JavaScript
        "diagnostics": f"/services/{shop.service_name}/diagnostics/",
        "events": "/events/",
        "events-filtered": "/events/?decision=BLOCK_UNKNOWN_COUNT",
        "events-empty": "/events/?service=nothing-here",
        "event": f"/events/{failed.pk}/",
        "templates": "/templates/",
        "exporters": "/exporters/",
        "exporter": f"/exporters/{install.pk}/",
        "whatif": f"/services/{shop.service_name}/whatif/{estate['whatif'].pk}/",
        "whatif-failed": f"/services/{shop.service_name}/whatif/{estate['whatif_failed'].pk}/",
        "admin": "/admin/",
        "admin-config": f"/admin/autoscaling/autoscalingconfig/{shop.pk}/change/",
        "admin-config-history": f"/admin/autoscaling/autoscalingconfig/{shop.pk}/history/",
        "admin-event": f"/admin/events/scaleevent/{failed.pk}/change/",
        "event-by-policy": f"/events/{estate['by_policy'].pk}/",
        "admin-event-by-policy": f"/admin/events/scaleevent/{estate['by_policy'].pk}/change/",
        "admin-policy": f"/admin/policies/scalingpolicy/{estate['policy'].pk}/change/",
    }
    product = {"ixnode", "templates_app", "events", "autoscaling", "artifacts", "exporters", "policies",
               "provisioning", "notifications"}
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label in product:
            pages[f"admin-{meta.app_label}-{meta.model_name}"] = f"/admin/{meta.app_label}/{meta.model_name}/"
            pages.setdefault(f"admin-app-{meta.app_label}", f"/admin/{meta.app_label}/")
    assert apps.is_installed("notifications") and "admin-notifications-sentnotification" in pages

    found = []
    for name, path in pages.items():
        found += _check(page, site + path, strings, shots, name)
    assert not found, "English left on Korean pages:\n" + "\n".join(
        f"{url}: {text!r} (msgid {msgid!r})" for url, text, msgid in found)


def test_the_walk_finds_english_where_it_is_left(page, korean_site, estate, tmp_path):
    """The check itself: a page in English is full of the catalogue's msgids; a Korean one is not."""
    strings = english_strings()
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": korean_site}])
    page.goto(korean_site + "/admin/login/?next=/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto(korean_site + "/events/")
    texts = page.evaluate(VISIBLE_TEXTS_JS)
    hits = {msgid for _text, msgid in untranslated(texts, strings)}
    assert {"Scale events", "Export CSV", "Blocked: maximum VM count reached"} <= hits
