"""Browser tests: real Chromium against the live app, a real Prometheus with history, real database.

Saves docs/overview.png and docs/service.png (the README shows them) — see ``screenshot_path``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

pytest_plugins = ["tests.fixtures.browser", "tests.fixtures.prometheus_history", "tests.fixtures.plg",
                  "tests.fixtures.plg_stack"]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "operator-pass-123"


def screenshot_path(name: str, tmp_path: Path) -> Path:
    """Where the browser run saves screenshot ``name``: pytest's tmp dir (the page is rendered and captured, so a
    page that cannot be captured fails here). The README's pictures in docs/ come from a running lab instead
    (``python -m lab.screenshots``, docs/lab.md), so a test run never leaves the git tree dirty."""
    return tmp_path / name


@pytest.fixture
def site(live_server, settings, prometheus_history):
    settings.IXNODE_PROMETHEUS_URL = prometheus_history.url
    cache.clear()
    return live_server.url


@pytest.fixture
def logged_in(page, site, operator):
    page.goto(site + "/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", operator.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site + "/")
    return page


@pytest.fixture
def demo(make_config, make_event, make_run, prometheus_history):
    """A few services with history: the shop's metrics come from the backfilled Prometheus."""
    from autoscaling.models import CooldownState

    shop = make_config("shop-web", octet=60, prometheus_job_name=prometheus_history.job, min_vms=2, max_vms=4,
                       artifacts_status="active", artifacts_published_at=timezone.now())
    cart = make_config("cart-api", octet=61, artifacts_status="active")
    make_config("search", octet=62, enabled=False)
    CooldownState.objects.create(config=shop, last_scale_out_at=timezone.now() - dt.timedelta(seconds=40))
    scale_out_min = (prometheus_history.end - prometheus_history.scale_out_at) / 60
    make_event(shop, minutes_ago=scale_out_min + 4, reason="HighCPU: max CPU 86% > 80% for 1m",
               vm_names=["shop-web-20260301101500"], alert_name="ShopWebScaleOut")
    make_event(shop, minutes_ago=scale_out_min - 3, decision="BLOCK_COOLDOWN", status="blocked",
               reason="scale-out cooldown: 120 s left", after_count=None, vm_names=[])
    make_event(shop, minutes_ago=8, action="scale-in", decision="BLOCK_MIN", status="blocked",
               reason="3 VMs, minimum 2 … scale-in step 1 would cross", after_count=None, vm_names=[])
    make_event(cart, minutes_ago=30, action="scale-in", before_count=3, after_count=2)
    run = make_run(cart, reason="HighMemory: max memory 91% > 80% for 1m")
    return {"shop": shop, "cart": cart, "run": run}


def test_login_rejects_bad_password(page, site, operator):
    page.goto(site + "/events/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.locator(".card .error").is_visible()
    assert "/accounts/login/" in page.url


def test_overview_and_service_pages(plg_stack, demo, logged_in, site, prometheus_history, tmp_path):
    page = logged_in  # Alertmanager is the live one of plg_stack; Prometheus the one holding history
    rows = page.locator("#services tbody tr")
    assert rows.count() == 3
    shop = page.locator('tr[data-service="shop-web"]')
    assert shop.locator("[data-vm-count]").inner_text() == "3"
    assert "Scale-out" in page.locator('tr[data-service="cart-api"]').inner_text()  # run in flight
    # vCenter and F5 are not set here: the first-run checklist holds the integrations' states.
    assert page.locator('#setup-checklist [data-check="prometheus"]').get_attribute("data-state") == "ok"
    assert page.locator('#setup-checklist [data-check="alertmanager"]').get_attribute("data-state") == "ok"
    page.screenshot(path=str(screenshot_path("overview.png", tmp_path)), full_page=True)

    with page.expect_response(lambda r: r.url.endswith("/services/shop-web/instances/")) as panel_response:
        shop.locator("a").first.click()
        page.wait_for_url(site + "/services/shop-web/")
    page.wait_for_selector("#service-chart[data-drawn='1']")
    cpu = page.locator("#service-chart path.cpu")
    assert int(cpu.get_attribute("data-points")) > 50
    assert page.locator("#service-chart path.mem").count() == 1
    assert page.locator("#service-chart path.vms").count() == 1
    assert page.locator("#service-chart line.threshold").count() == 4
    assert page.locator("#service-chart line.event").count() == 3
    assert page.locator("#recent-events tbody tr").count() == 3
    # The instances panel comes after the page: the placeholder gives way to the fragment.
    expect(page.locator("#instances #instance-table")).to_be_visible()
    assert page.locator("#instances[data-fragment-url]").count() == 0
    assert "<html" not in panel_response.value.text()  # the script asks for the panel alone, not its page
    expect(page.locator('#instances [data-note="vcenter"]')).to_contain_text("vCenter is not configured")
    page.screenshot(path=str(screenshot_path("service.png", tmp_path)), full_page=True)


def test_the_instances_panel_failing_to_load_says_so(demo, logged_in, site, browser, tmp_path):
    page = logged_in
    page.route("**/services/shop-web/instances/", lambda route: route.fulfill(status=500, body="<h1>boom</h1>"))
    page.goto(site + "/services/shop-web/")
    error = page.locator("#instances .fragment-error")
    expect(error).to_have_text(
        "The instances could not be loaded. Reload the page; if this persists, check the server log.")
    assert page.locator("#instances [data-fragment-loading]").is_hidden()
    assert page.locator("#instance-table").count() == 0 and "boom" not in page.content()
    page.locator("#instances").screenshot(path=str(screenshot_path("instances-error.png", tmp_path)))

    # Without JavaScript the placeholder links to the panel, a page of its own with the site's layout.
    cookies = page.context.cookies()
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        context.add_cookies(cookies)
        plain.goto(site + "/services/shop-web/")
        link = plain.locator("#show-instances")
        expect(link).to_be_visible()
        assert plain.locator("#instances [data-fragment-loading]").is_hidden()
        link.click()
        plain.wait_for_url(site + "/services/shop-web/instances/")
        expect(plain.locator("#instance-table")).to_be_visible()
        expect(plain.locator("header.topbar nav.mainnav")).to_be_visible()
        assert plain.title() == "Instances · shop-web · IXNode"
        plain.locator("#back-to-service").click()
        plain.wait_for_url(site + "/services/shop-web/")
    finally:
        context.close()


def test_live_stage_progress_advances(demo, logged_in, site):
    from events.models import ScaleEvent, ScaleEventStage

    page = logged_in
    run = demo["run"]
    page.goto(site + "/services/cart-api/")
    stage = page.locator('#run-live li[data-stage="allocate_ip"]')
    assert stage.get_attribute("data-status") == "running"
    # One transaction, so the page's poll never sees half of the stage change.
    with transaction.atomic():
        ScaleEventStage.objects.filter(event=run, position=1).update(
            status="succeeded", finished_at=timezone.now(), log="leased 127.0.61.221\n"
        )
        ScaleEventStage.objects.filter(event=run, position=2).update(
            status="running", started_at=timezone.now(), log="cloning cart-api-20260301101500\n"
        )
        ScaleEvent.objects.filter(pk=run.pk).update(current_stage="clone")
    page.wait_for_selector('#run-live li[data-stage="allocate_ip"][data-status="succeeded"]')
    page.wait_for_selector('#run-live li[data-stage="clone"][data-status="running"]')
    assert "cloning cart-api-20260301101500" in page.locator('#run-live li[data-stage="clone"]').inner_text()
    expect(page.locator("[data-run-stage]")).to_have_text("Clone VMs from the template")
    ScaleEventStage.objects.filter(event=run).update(status="succeeded")
    ScaleEvent.objects.filter(pk=run.pk).update(status="succeeded", current_stage="complete", after_count=4)
    page.wait_for_selector("#run-live [data-run-status].succeeded")


def test_event_history_filters_and_csv(demo, logged_in, site):
    page = logged_in
    page.click("nav.mainnav >> text=Events")
    page.wait_for_url(site + "/events/")
    assert page.locator("#event-table tbody tr").count() == 5
    page.fill("input[name=service]", "shop-web")
    page.select_option("select[name=decision]", "BLOCK_MIN")
    page.click("#event-filters button[type=submit]")
    page.wait_for_url("**/events/?*")
    rows = page.locator("#event-table tbody tr")
    assert rows.count() == 1 and "Blocked: minimum VM count reached" in rows.first.inner_text()
    assert rows.first.locator('[title="BLOCK_MIN"]').count() == 1  # the code in the tooltip
    with page.expect_download() as info:
        page.click("#csv-export")
    content = Path(info.value.path()).read_text()
    parsed = list(csv.DictReader(io.StringIO(content)))
    assert [(r["service_name"], r["decision"]) for r in parsed] == [("shop-web", "BLOCK_MIN")]
    rows.first.locator("a").first.click()
    page.wait_for_selector("#stage-timeline, .card >> text=No pipeline stages")
    assert "3 VMs, minimum 2" in page.content()


def test_korean_ui(demo, logged_in, site):
    page = logged_in
    with page.expect_navigation():
        page.select_option("#language-select", "ko")
    assert page.locator("html").get_attribute("lang") == "ko"
    nav = page.locator("nav.mainnav").inner_text()
    assert "개요" in nav and "이벤트" in nav
    assert "개요" in page.locator("h1").inner_text()
    page.goto(site + "/events/")
    assert "스케일 이벤트" in page.locator("h1").inner_text()
    assert "스케일아웃" in page.locator("#event-table").inner_text()


def test_admin_rejects_vip_inside_pool_then_history_shows_the_change(page, site, template, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.test", PASSWORD)
    page.goto(site + "/admin/autoscaling/autoscalingconfig/add/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/admin/autoscaling/autoscalingconfig/add/")
    values = {
        "service_name": "seed-example", "prometheus_job_name": "seed-example-service", "vm_prefix": "seed-example",
        "ip_pool_start": "10.255.48.220", "ip_pool_end": "10.255.48.230", "gateway": "10.255.48.1",
        "subnet_cidr": "10.255.48.0/24", "f5_pool_name": "seed-example-pool", "f5_vip_address": "10.255.48.229",
    }
    for field, value in values.items():
        page.fill(f"#id_{field}", value)
    page.select_option("#id_template", label=template.name)
    page.click("input[name=_continue]")
    error = page.locator(".errorlist").first
    assert "inside the IP pool" in error.inner_text()
    page.fill("#id_f5_vip_address", "10.255.48.250")
    page.click("input[name=_continue]")
    page.wait_for_url("**/change/")
    page.fill("#id_max_vms", "6")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    page.goto(site + "/services/seed-example/")
    row = page.locator('#config-history tr[data-field="max_vms"]')
    assert "4" in row.locator("del").inner_text() and "6" in row.locator("ins").inner_text()
    assert "root" in page.locator("#config-history").inner_text()
