"""The overview's first-run checklist and the rough pages, in a real Chromium against the live app.

* A fresh install (no webhook token, publishing off, Prometheus and Alertmanager down, vCenter and F5 unset): the
  checklist lists every setup check with the exact setting to change, each failure as a sentence, the technical
  text folded away; no raw exception text anywhere on the page; the same in Korean.
* Everything configured (real Prometheus + Alertmanager with local publishing, vcsim, the F5 double, a token): the
  checklist gives way to the integrations' row.
* The error banner is styled, the favicon answers (no 404 on any page), the admin config list fits 1,400 px, a long
  reason wraps inside its card, the Templates page without vCenter says so once with its buttons disabled.
"""

from __future__ import annotations

import os
import re

import pytest
from django.core.cache import cache

from tests.fixtures.prometheus import free_port

pytest_plugins = ["tests.fixtures.browser", "tests.fixtures.plg", "tests.fixtures.plg_stack", "tests.fixtures.vcsim",
                  "tests.fixtures.f5"]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "root-pass-for-tests-123"
# What a Python, urllib3 or requests exception looks like when it leaks onto a page.
RAW_EXCEPTION = re.compile(
    r"NewConnectionError|HTTPConnection\(|MaxRetryError|Errno|Traceback|Exception:|Error: |ConnectionError|"
    r"ConfigError|<urllib3|object at 0x"
)
SETUP_SETTINGS = {  # check → the setting its fix names
    "webhook_token": "IXNODE_WEBHOOK_TOKEN",
    "public_url": "IXNODE_PUBLIC_URL",
    "publishing": "IXNODE_PLG_MODE",
    "prometheus": "IXNODE_PROMETHEUS_URL",
    "alertmanager": "IXNODE_ALERTMANAGER_URL",
    "vcenter": "IXNODE_VCENTER_HOST",
    "f5": "IXNODE_F5_HOST",
    "jenkins": "IXNODE_JENKINS_URL",
}


def _visible_text(page) -> str:
    return page.evaluate("() => document.body.innerText")


def _login(page, site):
    page.goto(site + "/accounts/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site + "/")


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.test", PASSWORD)


@pytest.fixture
def fresh_install(live_server, settings, root):
    """Settings as a first `make run` has them, plus a public URL that answers nothing."""
    settings.IXNODE_WEBHOOK_TOKEN = ""
    settings.IXNODE_PLG_MODE = "off"
    settings.IXNODE_PUBLIC_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_ALERTMANAGER_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_VCENTER_HOST = settings.IXNODE_F5_HOST = settings.IXNODE_JENKINS_URL = ""
    cache.clear()
    return live_server.url


def test_first_run_checklist_names_each_setting_and_hides_raw_errors(page, fresh_install, make_config):
    site = fresh_install
    make_config("shop-web", octet=80)
    _login(page, site)
    checklist = page.locator("#setup-checklist")
    assert checklist.is_visible()
    assert page.locator("#integration-health").count() == 0  # the checklist holds the integrations
    states = {}
    for key, setting in SETUP_SETTINGS.items():
        item = checklist.locator(f'li[data-check="{key}"]')
        states[key] = item.get_attribute("data-state")
        fix = item.locator(".fix")
        assert fix.is_visible(), key
        codes = [c.inner_text().split("=")[0] for c in fix.locator("code").all()]
        assert setting in codes, (key, fix.inner_text())
    assert states == {"webhook_token": "bad", "public_url": "bad", "publishing": "bad", "prometheus": "bad",
                      "alertmanager": "bad", "vcenter": "unknown", "f5": "unknown", "jenkins": "unknown"}
    prometheus = checklist.locator('li[data-check="prometheus"]')
    sentence = prometheus.inner_text()
    assert re.search(r"Prometheus at http://127\.0\.0\.1:\d+ is not reachable \(connection refused\)\.", sentence)
    details = prometheus.locator("details.technical")
    assert details.get_attribute("open") is None and not details.locator("pre").is_visible()
    assert "NewConnectionError" in details.locator("pre").text_content()  # kept for the record, folded away
    assert checklist.locator('li[data-check="jenkins"] .badge').inner_text() == "optional"
    assert "0 of 8 ready" in checklist.inner_text()

    banner = page.locator("#count-error")
    assert banner.is_visible()
    assert page.evaluate("el => getComputedStyle(el).backgroundColor", banner.element_handle()) == "rgb(251, 233, 231)"
    assert not RAW_EXCEPTION.search(_visible_text(page)), _visible_text(page)

    details.locator("summary").click()  # unfolded on demand
    assert details.locator("pre").is_visible()

    with page.expect_navigation():
        page.select_option("#language-select", "ko")
    checklist = page.locator("#setup-checklist")
    assert "설정 점검 목록" in checklist.inner_text()
    assert re.search(r"Prometheus\(http://127\.0\.0\.1:\d+\)에 연결할 수 없습니다 \(연결 거부\)\.",
                     checklist.locator('li[data-check="prometheus"]').inner_text())
    assert "IXNODE_PROMETHEUS_URL" in checklist.locator('li[data-check="prometheus"] .fix code').first.inner_text()
    assert not RAW_EXCEPTION.search(_visible_text(page))


def test_diagnostics_counts_checks_that_could_not_run(page, fresh_install, make_config):
    make_config("shop-web", octet=81)
    _login(page, fresh_install)
    page.goto(fresh_install + "/services/shop-web/diagnostics/")
    summary = page.locator("#checks-summary").inner_text()
    not_run = page.locator('#checks li[data-state="unknown"]').count()
    failed = page.locator('#checks li[data-state="bad"]').count()
    assert not_run >= 5 and f"{not_run} checks could not run" in summary
    assert f"{failed} problem" in summary
    assert not RAW_EXCEPTION.search(_visible_text(page)), _visible_text(page)


def test_checklist_gives_way_once_everything_is_set(page, live_server, settings, root, plg_stack, vcenter_settings,
                                                    f5_settings, make_config):
    settings.IXNODE_WEBHOOK_TOKEN = "a-long-random-token-for-the-test"
    settings.IXNODE_PUBLIC_URL = live_server.url
    settings.IXNODE_JENKINS_URL = ""
    cache.clear()
    make_config("auto-vm-test", octet=48, f5_pool_name="auto-vm-test-pool")
    _login(page, live_server.url)
    assert page.locator("#setup-checklist").count() == 0
    health = page.locator("#integration-health")
    states = {i.get_attribute("data-integration"): i.get_attribute("data-state")
              for i in health.locator("[data-integration]").all()}
    assert states == {"prometheus": "ok", "alertmanager": "ok", "vcenter": "ok", "f5": "ok", "jenkins": "unknown"}


def test_no_404_and_the_favicon(page, fresh_install, make_config, make_event):
    shop = make_config("shop-web", octet=82)
    event = make_event(shop)
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    _login(page, fresh_install)
    for path in ("/", "/services/shop-web/", f"/events/{event.pk}/", "/events/", "/templates/", "/exporters/",
                 "/admin/", "/admin/autoscaling/autoscalingconfig/", "/api/docs/"):
        page.goto(fresh_install + path)
        page.wait_for_load_state("networkidle")
    assert page.locator('link[rel="icon"]').count() in (0, 1)  # Swagger brings its own
    response = page.request.get(fresh_install + "/favicon.ico")
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")
    assert not missing, missing


@pytest.mark.parametrize("language", ["en", "ko"])
def test_admin_config_list_fits_1400_px(page, fresh_install, make_config, template, language):
    template.name = "ubuntu-22.04-golden-with-a-long-name"
    template.save()
    for octet, name in enumerate(("shop-web-frontend-production", "cart-api", "search"), start=83):
        make_config(name, octet=octet, enabled=name != "search")
    page.context.add_cookies([{"name": "django_language", "value": language, "url": fresh_install}])
    _login(page, fresh_install)
    assert page.viewport_size["width"] == 1400
    page.goto(fresh_install + "/admin/autoscaling/autoscalingconfig/")
    if os.environ.get("IXNODE_SCREENSHOTS_DIR"):
        page.screenshot(path=os.path.join(os.environ["IXNODE_SCREENSHOTS_DIR"], f"admin-configs-{language}.png"))
    overflow = page.evaluate("""() => {
        const box = document.querySelector('#changelist .results');
        const cols = [...document.querySelectorAll('#result_list tbody tr:first-child > *')].map(
            c => c.className + ':' + Math.round(c.getBoundingClientRect().width));
        return {scroll: box.scrollWidth, client: box.clientWidth, page: document.documentElement.scrollWidth,
                cols: cols.join(' ')};
    }""")
    assert overflow["scroll"] <= overflow["client"] and overflow["page"] <= 1400, overflow


def test_a_long_reason_wraps_inside_its_card(page, fresh_install, make_config, make_event):
    shop = make_config("shop-web", octet=86)
    long_reason = "Adding 1 VM(s): " + "/".join(["a-very-long-path-segment-without-spaces"] * 12) + " and more words"
    event = make_event(shop, reason=long_reason)
    _login(page, fresh_install)
    page.goto(fresh_install + f"/events/{event.pk}/")
    card = page.locator("#event-reason").locator("xpath=ancestor::section[1]")
    sizes = page.evaluate("el => ({scroll: el.scrollWidth, client: el.clientWidth})", card.element_handle())
    assert sizes["scroll"] <= sizes["client"], sizes
    reason_box = page.locator("#event-reason").bounding_box()
    card_box = card.bounding_box()
    assert reason_box["x"] + reason_box["width"] <= card_box["x"] + card_box["width"] + 1


def test_templates_page_without_vcenter(page, fresh_install, template):
    _login(page, fresh_install)
    page.goto(fresh_install + "/templates/")
    problem = page.locator("#vcenter-problem")
    assert problem.is_visible() and "IXNODE_VCENTER_HOST" in problem.inner_text()
    assert _visible_text(page).count("vCenter is not set up") == 1  # said once, not again in the form
    assert page.locator("#sync-templates").is_disabled()
    assert page.locator("#create-template button[type=submit]").is_disabled()
    assert page.locator(f'tr[data-template="{template.name}"] [data-in-vcenter]').get_attribute(
        "data-in-vcenter") == "unknown"
    assert page.locator("#templates th").first.inner_text() == "Name"  # styled headings, not "name"
    assert page.evaluate("() => getComputedStyle(document.querySelector('#templates')).borderCollapse") == "collapse"
    assert not RAW_EXCEPTION.search(_visible_text(page))
