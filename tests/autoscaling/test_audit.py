"""Audit trail (django-simple-history): admin edits record who changed what; admin shows the history."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_template_changes_are_recorded_with_the_user(admin_client, admin_user, template):
    template.description = "Ubuntu 22.04 with node_exporter baked in"
    template._history_user = admin_user
    template.save()
    records = list(template.history.order_by("history_date"))
    assert [r.history_type for r in records] == ["+", "~"]
    delta = records[1].diff_against(records[0])
    assert [c.field for c in delta.changes] == ["description"]
    response = admin_client.get(f"/admin/templates_app/template/{template.pk}/history/")
    assert response.status_code == 200
    assert "admin" in response.content.decode()


def test_config_admin_edit_records_user_and_diff(admin_client, config):
    response = admin_client.get(f"/admin/autoscaling/autoscalingconfig/{config.pk}/history/")
    assert response.status_code == 200
    latest = config.history.first()
    assert latest.history_type == "+"
