"""Browser acceptance of the config pages and the instances panel: real Chromium against the live app, a real
Prometheus for the VM count, vcsim for the template and the power states.

Screenshots go to pytest's tmp dir, or to ``$IXNODE_SCREENSHOT_DIR`` when set (to look at them).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from autoscaling.models import AutoscalingConfig, ManagedVM
from events.choices import Decision, EventStatus, Trigger
from events.models import ScaleEvent
from policies.models import ScalingPolicy
from tests.fixtures.config_pages import PASSWORD

pytest_plugins = ["tests.fixtures.browser", "tests.fixtures.prometheus", "tests.fixtures.vcsim",
                  "tests.fixtures.config_pages"]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def shot(page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("IXNODE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


@pytest.fixture
def site(live_server, settings, prometheus_server):
    settings.IXNODE_PROMETHEUS_URL = prometheus_server.url
    settings.IXNODE_VCENTER_HOST = ""
    settings.IXNODE_F5_HOST = ""
    cache.clear()
    return live_server.url


@pytest.fixture
def signed_in(page, site, engineer):
    page.goto(site + "/accounts/login/?next=/")
    page.fill("#id_username", engineer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site + "/")
    return page


def fill_config(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.fill(f"#id_{name}", value)


NETWORK = {"ip_pool_start": "127.0.52.220", "ip_pool_end": "127.0.52.228", "gateway": "127.0.52.1",
           "subnet_cidr": "127.0.52.0/24", "f5_vip_address": "127.0.52.229"}


def test_create_and_edit_show_bad_input_at_its_field(signed_in, site, template, tmp_path):
    page = signed_in
    page.click("#new-config")
    page.wait_for_url(site + "/configs/new/")
    page.type("#id_service_name", "shop-web")
    # The derived names appear while the name is typed, before anything is saved.
    expect(page.locator("#id_prometheus_job_name")).to_have_value("shop-web-service")
    expect(page.locator("#id_vm_prefix")).to_have_value("shop-web")
    expect(page.locator("#id_f5_pool_name")).to_have_value("shop-web-pool")
    assert "outside the IP pool" in page.locator("#hint-gateway").inner_text()
    page.select_option("#id_template", label=template.name)
    fill_config(page, {**NETWORK, "f5_vip_address": "127.0.52.225"})  # the seed's mistake: VIP inside the pool
    page.click("#save-config")
    error = page.locator('[data-field="f5_vip_address"] .errorlist')
    expect(error).to_contain_text("inside the IP pool 127.0.52.220–127.0.52.228")
    assert page.locator('[data-field="f5_vip_address"]').get_attribute("class") == "field invalid"
    assert page.locator(".configform .errorlist").count() == 1
    shot(page, "config-create-error.png", tmp_path)
    assert not AutoscalingConfig.objects.exists()

    page.fill("#id_f5_vip_address", "127.0.52.229")
    page.click("#save-config")
    page.wait_for_url(site + "/services/shop-web/")
    expect(page.locator(".messages")).to_contain_text("created (disabled)")
    config = AutoscalingConfig.objects.get(service_name="shop-web")
    assert (config.prometheus_job_name, config.vm_prefix, config.f5_pool_name, config.enabled) == (
        "shop-web-service", "shop-web", "shop-web-pool", False)

    page.click("#edit-config")
    page.wait_for_url(site + "/services/shop-web/edit/")
    assert page.locator("#id_service_name").is_disabled()
    page.fill("#id_min_vms", "5")  # above the maximum of 4
    page.click("#save-config")
    expect(page.locator('[data-field="max_vms"] .errorlist')).to_contain_text(
        "must be greater than or equal to minimum VMs (5)")
    shot(page, "config-edit-error.png", tmp_path)
    page.fill("#id_max_vms", "6")
    page.click("#save-config")
    page.wait_for_url(site + "/services/shop-web/")
    config.refresh_from_db()
    assert (config.min_vms, config.max_vms) == (5, 6)
    expect(page.locator('#config-history tr[data-field="max_vms"] ins')).to_have_text("6")


def test_enable_preflight_fails_then_passes(signed_in, site, make_config, settings, vcenter_settings, tmp_path):
    page = signed_in
    config = make_config("cart-api", octet=53, enabled=False, prometheus_job_name="cart-api-service")
    settings.IXNODE_VCENTER_HOST = ""  # nothing reachable but Prometheus
    settings.IXNODE_PLG_MODE = "off"
    page.goto(site + "/services/cart-api/")
    page.click("#enable-config")
    page.wait_for_url(site + "/services/cart-api/enable/")
    expect(page.locator("#preflight-verdict")).to_have_attribute("data-verdict", "fail")
    expect(page.locator("#preflight-verdict")).to_contain_text("Not enabled")
    assert page.locator('[data-check="ssh_key"]').get_attribute("data-state") == "bad"
    assert page.locator('[data-check="publishing"]').get_attribute("data-state") == "bad"
    assert page.locator('[data-check="template"]').get_attribute("data-state") == "unknown"
    expect(page.locator('[data-check="ssh_key"] .fix')).to_contain_text("chmod 600")
    shot(page, "preflight-fail.png", tmp_path)
    config.refresh_from_db()
    assert config.enabled is False

    # Fix what failed: vCenter (vcsim has the template), a key with mode 600, publishing on.
    for key, value in vcenter_settings.django_settings().items():
        setattr(settings, key, value)
    settings.IXNODE_PLG_MODE = "local"
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    key.chmod(0o600)
    AutoscalingConfig.objects.filter(pk=config.pk).update(ssh_key_path=str(key))
    page.click("text=Check again")
    expect(page.locator("#preflight-verdict")).to_have_attribute("data-verdict", "pass")
    assert page.locator('#preflight li[data-state="ok"]').count() == 6
    shot(page, "preflight-pass.png", tmp_path)
    page.click("#enable-now")
    page.wait_for_url(site + "/services/cart-api/")
    expect(page.locator(".messages")).to_contain_text("every pre-flight check passed")
    expect(page.locator("#disable-config")).to_be_visible()
    config.refresh_from_db()
    assert config.enabled is True


def test_dry_run_switch_and_instances_panel_actions(signed_in, site, make_config, prometheus_server, tmp_path):
    page = signed_in
    prometheus_server.ensure_counts([2])
    config = make_config("search", octet=54, prometheus_job_name=prometheus_server.job_with_count(2))
    vm = ManagedVM.objects.create(config=config, name="search-20250101000000", ip_address="127.0.54.221",
                                  state="in_service")
    page.goto(site + "/services/search/")
    panel = page.locator("#instances")
    expect(panel.locator('[data-note="vcenter"]')).to_contain_text("vCenter is not configured")
    assert panel.locator('tr[data-kind="base"]').count() == 2  # the job's two targets

    # Dry-run switch: on, then a scale-out by 2 is decided and recorded with its plan, nothing executed.
    page.click("#dry-run-toggle")
    expect(page.locator('[data-dry-run="on"]')).to_be_visible()
    assert ScalingPolicy.objects.get(config=config).dry_run is True
    page.fill('#manual-actions form:has([value="scale-out"]) input[name=count]', "2")
    page.click('#manual-actions [data-action="scale-out"]')
    expect(page.locator(".messages")).to_contain_text("dry run, nothing executed")
    event = ScaleEvent.objects.get()
    assert (event.status, event.trigger, event.triggered_by, event.requested_count) == (
        EventStatus.DRY_RUN, Trigger.MANUAL, "engineer", 2)
    page.click("#dry-run-toggle")
    expect(page.locator('[data-dry-run="off"]')).to_be_visible()

    # Scale-in asks first; dismissed, nothing is decided.
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click('#manual-actions [data-action="scale-in"]')
    page.wait_for_timeout(300)
    assert "Newest first (LIFO)" in questions[0] and ScaleEvent.objects.count() == 1
    # A blocked action shows the decision's reason: scale-in at the minimum.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('#manual-actions [data-action="scale-in"]')
    message = page.locator(".messages .msg-error")
    expect(message).to_contain_text("Blocked: minimum VM count reached")
    expect(message).to_contain_text("2 VMs is at or below the minimum of 2")
    blocked = ScaleEvent.objects.latest("pk")
    assert (blocked.decision, blocked.triggered_by) == (Decision.BLOCK_MIN, "engineer")

    # Scale out by N for real: queued with the operator as trigger, linked from the message.
    page.fill('#manual-actions form:has([value="scale-out"]) input[name=count]', "1")
    page.click('#manual-actions [data-action="scale-out"]')
    expect(page.locator(".messages .msg-success")).to_contain_text("Adding 1 VM(s): 2 → 3")
    allowed = ScaleEvent.objects.latest("pk")
    assert (allowed.decision, allowed.status, allowed.trigger, allowed.triggered_by) == (
        Decision.ALLOW, EventStatus.QUEUED, Trigger.MANUAL, "engineer")
    assert page.locator(f'.messages a[href="/events/{allowed.pk}/"]').count() == 1

    # Protect / unprotect the autoscaled VM.
    row = page.locator(f'tr[data-instance="{vm.name}"]')
    row.locator('[data-action="protect"]').click()
    expect(page.locator(f'tr[data-instance="{vm.name}"] [data-action="unprotect"]')).to_be_visible()
    vm.refresh_from_db()
    assert vm.scale_in_protected is True
    shot(page, "service-instances.png", tmp_path)
    page.locator(f'tr[data-instance="{vm.name}"] [data-action="unprotect"]').click()
    expect(page.locator(f'tr[data-instance="{vm.name}"] [data-action="protect"]')).to_be_visible()
    vm.refresh_from_db()
    assert vm.scale_in_protected is False
    assert re.search(r"protected from scale-in|picked for scale-in again", page.locator(".messages").inner_text())

    # The same panel in Korean.
    with page.expect_navigation():
        page.select_option("#language-select", "ko")
    expect(page.locator("#instances h2")).to_have_text("인스턴스")
    expect(page.locator('#manual-actions [data-action="desired"]')).to_have_text("설정")
    shot(page, "service-instances-ko.png", tmp_path)
    page.goto(site + "/configs/new/")
    expect(page.locator("h1")).to_have_text("새 오토스케일링 설정")
    shot(page, "config-create-ko.png", tmp_path)
