"""Signals enqueue one regeneration after commit; admin actions; the render_artifacts command."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import RequestFactory
from django_q.models import OrmQ

from artifacts.admin import ArtifactsAdminMixin, preview_artifacts, regenerate_artifacts
from autoscaling.choices import ArtifactStatus
from autoscaling.models import AutoscalingConfig

pytest_plugins = ["tests.fixtures.plg"]


def queued() -> list[tuple]:
    tasks = [entry.task for entry in OrmQ.objects.order_by("id")]
    return [tuple(t["args"]) for t in tasks if t["func"] == "artifacts.tasks.artifacts_regenerate_task"]


@pytest.mark.django_db(transaction=True)
def test_save_enqueues_once_per_transaction_after_commit(config_values, settings):
    settings.IXNODE_ARTIFACTS_SYNC = False
    with transaction.atomic():
        config = AutoscalingConfig.objects.create(**config_values)
        config.min_vms = 3
        config.save()
        config.save()
        assert queued() == [], "nothing is queued before the commit"
    assert queued() == [("auto-vm-test", config.pk)]

    OrmQ.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        config.max_vms = 5
        config.save()
        raise RuntimeError("roll back")
    assert queued() == [], "a rolled-back save queues nothing"

    config.enabled = False
    config.save()
    pk = config.pk
    config.delete()
    assert queued() == [("auto-vm-test", pk), ("auto-vm-test", None)]


@pytest.mark.django_db(transaction=True)
def test_artifact_state_updates_do_not_requeue(config_values, settings):
    config = AutoscalingConfig.objects.create(**config_values)
    OrmQ.objects.all().delete()
    config.artifacts_status = ArtifactStatus.ACTIVE
    config.save(update_fields=["artifacts_status"])
    assert queued() == []


@pytest.mark.django_db(transaction=True)
def test_sync_mode_publishes_at_commit(config_values, plg_files, settings):
    settings.IXNODE_ARTIFACTS_SYNC = True
    config = AutoscalingConfig.objects.create(**config_values)
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error
    assert (plg_files.rules_dir / "ixnode-auto-vm-test.rules.yml").exists()
    config.delete()
    assert not (plg_files.rules_dir / "ixnode-auto-vm-test.rules.yml").exists()
    assert "auto-vm-test" not in plg_files.alertmanager_yml.read_text()


def test_render_artifacts_command(db, plg_files, config, tmp_path, capsys):
    out = tmp_path / "out"
    call_command("render_artifacts", "auto-vm-test", "--output-dir", str(out), "--mask-secrets")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "alertmanager-receiver.yml", "alertmanager-route.yml", "grafana-dashboard.json", "ixnode-auto-vm-test.json",
        "ixnode-auto-vm-test.rules.yml", "jenkins-ixnode-auto-vm-test-scale-in.xml",
        "jenkins-ixnode-auto-vm-test-scale-out.xml", "prometheus-scrape-job.yml",
    ])
    assert "test-webhook-token" not in (out / "alertmanager-receiver.yml").read_text()
    assert "8 artifact(s)" in capsys.readouterr().out
    # the database it read and what that database holds: a command run against another one shows at once
    with pytest.raises(CommandError, match=r"No autoscaling config named missing in the database (SQLite|postgresql) "
                                           r".+ \(its configs: auto-vm-test\)\.$"):
        call_command("render_artifacts", "missing", "--output-dir", str(out))


class ConfigAdmin(ArtifactsAdminMixin, admin.ModelAdmin):
    pass


def admin_request(user):
    request = RequestFactory().post("/admin/autoscaling/autoscalingconfig/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_admin_actions(db, plg_files, config):
    site = admin.AdminSite(name="test-admin")
    model_admin = ConfigAdmin(AutoscalingConfig, site)
    superuser = User.objects.create_superuser("root", password="pw")
    request = admin_request(superuser)
    assert {"regenerate_artifacts", "preview_artifacts"} <= set(model_admin.get_actions(request))
    assert "artifacts_error" in model_admin.get_readonly_fields(request, config)

    regenerate_artifacts(model_admin, request, AutoscalingConfig.objects.all())
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.ACTIVE
    assert "Active" in [str(m) for m in request._messages][0]  # the status in the pages' words

    response = preview_artifacts(model_admin, admin_request(superuser), AutoscalingConfig.objects.all())
    html = response.render().content.decode()
    assert "ixnode-auto-vm-test.rules.yml" in html and "deployed, identical" in html
    assert "test-webhook-token" not in html

    viewer = User.objects.create_user("viewer")
    assert "regenerate_artifacts" not in model_admin.get_actions(admin_request(viewer))
