"""``manage.py setup_summary`` (what ``make run`` prints once it answers): URL, login, and the setup checklist
from the diagnostics' checks, each item that is off with the setting that turns it on."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from provisioning.diagnostics import check_public_url, check_publishing, check_webhook_token, setup_checklist

pytestmark = pytest.mark.django_db(transaction=True)


def summary(**options) -> str:
    out = StringIO()
    call_command("setup_summary", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def nothing_configured(settings, live_server):
    settings.IXNODE_WEBHOOK_TOKEN = ""
    settings.IXNODE_PLG_MODE = "off"
    settings.IXNODE_PUBLIC_URL = live_server.url
    settings.IXNODE_PROMETHEUS_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.IXNODE_ALERTMANAGER_URL = "http://127.0.0.1:9"
    settings.IXNODE_VCENTER_HOST = settings.IXNODE_F5_HOST = settings.IXNODE_JENKINS_URL = ""
    settings.LANGUAGE_CODE = "en"
    return settings


def test_fresh_install_says_what_is_off_and_how_to_turn_it_on(nothing_configured, live_server):
    text = summary()
    assert f"IXNode Autoscaling is running: {live_server.url}/" in text
    assert f"Log in at {live_server.url}/accounts/login/ as 'admin'" in text
    assert "[off] Webhook token: IXNODE_WEBHOOK_TOKEN is not set" in text
    assert "→ Set IXNODE_WEBHOOK_TOKEN to a long random value" in text
    assert "[off] Publishing to Prometheus and Alertmanager: IXNODE_PLG_MODE=off" in text
    assert "→ Set IXNODE_PLG_MODE=local" in text
    assert f"[ok]  Public URL: {live_server.url} answers." in text
    assert "[off] Prometheus" in text and "→ Check IXNODE_PROMETHEUS_URL" in text
    assert "[--]  vCenter" in text
    assert "→ Set IXNODE_VCENTER_HOST, IXNODE_VCENTER_USER and IXNODE_VCENTER_PASSWORD" in text
    assert "7 of 8 items are off or unreachable" in text


def test_configured_items_are_ok(nothing_configured, tmp_path):
    settings = nothing_configured
    settings.IXNODE_WEBHOOK_TOKEN = "a-long-random-token"
    settings.IXNODE_PLG_MODE = "local"
    assert check_webhook_token().ok is True
    assert check_publishing().ok is True
    settings.IXNODE_PLG_MODE = "ssh"
    settings.IXNODE_PLG_SSH_HOST = ""
    assert check_publishing().ok is False
    settings.IXNODE_PUBLIC_URL = "http://127.0.0.1:9"
    wrong = check_public_url()
    assert wrong.ok is False and "IXNODE_PUBLIC_URL" in wrong.fix
    keys = [result.key for result in setup_checklist()]
    assert keys == ["webhook_token", "public_url", "publishing", "prometheus", "alertmanager", "vcenter", "f5",
                    "jenkins"]


def test_summary_in_korean(nothing_configured):
    nothing_configured.LANGUAGE_CODE = "ko"
    text = summary()
    assert "IXNODE_WEBHOOK_TOKEN" in text
    assert "Log in at" not in text and "Setup checklist" not in text


def test_a_password_generated_by_this_start_is_pointed_at(nothing_configured, django_user_model):
    """make run's first start prints the generated password once, some 30 lines above the summary: the summary says
    so, rather than "the one printed when the user was created" (when was that?)."""
    django_user_model.objects.create_superuser("admin", "", "generated-just-now")
    assert "the one printed when the user was created" in summary()
    first = summary(password_printed_above=True)
    assert "(password: the one generated just now, printed once above after the migrations: 'created admin user … " \
           "with generated password'; change it with .venv/bin/python manage.py changepassword admin)" in first
    assert "generated-just-now" not in first
    nothing_configured.LANGUAGE_CODE = "ko"
    assert "방금 생성되어" in summary(password_printed_above=True)
