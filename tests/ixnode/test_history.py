"""Change history for people (ixnode.history): the actor of each change — a user, an API token, Alertmanager, the
system — and values as the pages show them, on the service page and in the admin's history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from autoscaling.api.authentication import WebhookCaller
from autoscaling.models import AutoscalingConfig
from ixnode.history import HistoryActor, history_user_of, history_value, request_actor


class FakeRequest:
    def __init__(self, user=None, auth=None):
        self.user, self.auth = user, auth


def admin_post(client, config, **changes):
    """Save the config through the admin's change form (every field as the form would send it)."""
    from django.forms.models import model_to_dict

    data = {key: ("" if value is None else value) for key, value in model_to_dict(config).items()}
    data.update(changes)
    data = {k: v for k, v in data.items() if k not in ("id", "created_at", "updated_at") and not k.startswith("artif")}
    data["enabled"] = "on" if data.get("enabled") else ""
    data = {k: v for k, v in data.items() if v != ""}
    return client.post(reverse("admin:autoscaling_autoscalingconfig_change", args=[config.pk]), data)


@pytest.mark.django_db
def test_the_kinds_of_actor():
    from django.contrib.auth.models import AnonymousUser, User

    user = User(username="alice")
    assert request_actor(None) == HistoryActor.SYSTEM
    assert request_actor(FakeRequest(AnonymousUser())) == HistoryActor.SYSTEM
    assert request_actor(FakeRequest(user)) == HistoryActor.USER
    assert request_actor(FakeRequest(user, auth=object())) == HistoryActor.TOKEN  # DRF's request.auth: a token
    assert request_actor(FakeRequest(WebhookCaller())) == HistoryActor.ALERTMANAGER
    # The webhook's principal is no user account: never written as history_user.
    assert history_user_of(request=FakeRequest(WebhookCaller())) is None


@pytest.mark.django_db
def test_values_for_people(config, template):
    field = AutoscalingConfig._meta.get_field
    assert history_value(field("enabled"), True) == "yes"
    assert history_value(field("enabled"), False) == "no"
    assert history_value(field("scale_in_order"), "oldest_first") == "Oldest first (FIFO)"
    assert history_value(field("template"), template.pk) == template.name
    assert history_value(field("scale_out_cpu_threshold"), 80.0) == "80"
    assert history_value(field("ssh_key_path"), "") == "–"
    assert history_value(None, None) == "–"
    assert history_value(None, ["a", "b"]) == "a, b"
    assert history_value(field("artifacts_published_at"), dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)) == \
        "2026-03-01 12:00:00"
    with translation.override("ko"):
        assert history_value(field("enabled"), True) == "예"
        assert history_value(field("scale_in_order"), "oldest_first") == "가장 오래된 VM 먼저 (FIFO)"


@pytest.mark.django_db(transaction=True)
def test_an_admin_edit_is_the_users_and_the_artifacts_update_the_systems(admin_client, admin_user, config, settings):
    """The admin save regenerates the artifacts in the same request (IXNODE_ARTIFACTS_SYNC): the status and publish
    time it writes are the system's row, never part of the diff credited to the user."""
    settings.IXNODE_ARTIFACTS_SYNC = True
    settings.IXNODE_PLG_MODE = "off"
    response = admin_post(admin_client, config, max_vms=6)
    assert response.status_code == 302, response.content.decode()[:2000]
    rows = list(config.history.order_by("-history_date", "-history_id"))
    system, user = rows[0], rows[1]
    assert (system.history_actor, system.history_user, system.history_change_reason) == (
        HistoryActor.SYSTEM, None, "Generated artifacts updated")
    assert (user.history_actor, user.history_user) == (HistoryActor.USER, admin_user)
    assert [c.field for c in user.diff_against(rows[2]).changes] == ["max_vms"]

    page = admin_client.get(reverse("autoscaling:service", args=[config.service_name]))
    history = page.context["history"]
    assert (history[0].who, history[0].reason) == ("the system", "Generated artifacts updated")
    assert {c.field for c in history[0].changes} <= {"artifacts_status", "artifacts_published_at",
                                                      "artifacts_hash", "artifacts_error"}
    assert history[1].who == "admin" and [c.field for c in history[1].changes] == ["max_vms"]
    assert (history[1].changes[0].old, history[1].changes[0].new) == ("4", "6")
    body = page.content.decode()
    assert "False → True" not in body and "None" not in body

    # Saved again: whatever the regeneration writes (a new publish time) is again the system's, not the user's.
    admin_post(admin_client, config, max_vms=6)
    rows = list(config.history.order_by("history_date", "history_id"))
    for previous, row in zip(rows, rows[1:], strict=False):
        fields = {c.field for c in row.diff_against(previous).changes}
        if row.history_actor == HistoryActor.USER:
            assert not {f for f in fields if f.startswith("artifacts_")}, fields

    admin_history = admin_client.get(f"/admin/autoscaling/autoscalingconfig/{config.pk}/history/").content.decode()
    assert "the system" in admin_history and "None" not in admin_history
    assert "Maximum VMs" in admin_history or "maximum VMs" in admin_history.lower()
    with translation.override("ko"):
        korean = admin_client.get(f"/admin/autoscaling/autoscalingconfig/{config.pk}/history/",
                                  HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "생성된 아티팩트 갱신" in korean and "시스템" in korean


@pytest.mark.django_db(transaction=True)
def test_an_api_change_is_the_tokens(admin_user, config, settings):
    settings.IXNODE_PLG_MODE = "off"
    token = Token.objects.create(user=admin_user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.patch(f"/api/autoscaling/configs/{config.service_name}/", {"monitoring": {"cooldownSeconds": 60}},
                         format="json")
    assert response.status_code == 200, response.content
    row = config.history.filter(history_actor=HistoryActor.TOKEN).get()
    assert row.history_user == admin_user
    client = APIClient()
    client.force_login(admin_user)
    page = client.get(reverse("autoscaling:service", args=[config.service_name]))
    entry = next(e for e in page.context["history"] if e.actor == HistoryActor.TOKEN)
    assert entry.who == "admin (API token)"
    assert [(c.field, c.old, c.new) for c in entry.changes] == [("cooldown_seconds", "300", "60")]
