"""The Jenkins executor against the Jenkins double: right job, right parameters, build URL recorded, and the
job's stages run the same stage code (stage callback → ``run_one_step``) on a live server."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token

from autoscaling.artifacts.context import RenderContext
from autoscaling.artifacts.jenkins import render_jenkins_job_xml
from autoscaling.artifacts.naming import jenkins_job_name
from autoscaling.choices import ScaleAction
from events.choices import EventStatus, Executor, StageStatus
from ixnode.integrations.jenkins.client import JenkinsClient

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.fixtures.pipeline_env", "tests.doubles.jenkins"]


@pytest.fixture
def jenkins_world(pipeline_world, jenkins_double, live_server, settings, q_sync):
    settings.IXNODE_EXECUTOR = "jenkins"
    settings.IXNODE_PUBLIC_URL = live_server.url
    settings.IXNODE_JENKINS_POLL_SECONDS = 0.05
    user = User.objects.create_user("jenkins-bot")
    user.user_permissions.add(Permission.objects.get(codename="change_scaleevent"))
    jenkins_double.credentials[settings.JENKINS_API_CREDENTIALS_ID] = Token.objects.create(user=user).key
    client = JenkinsClient.from_settings()
    ctx = RenderContext.from_settings()
    for action in (ScaleAction.SCALE_OUT, ScaleAction.SCALE_IN):
        name = jenkins_job_name(pipeline_world.config.service_name, action)
        client.job_upsert(name=name, config_xml=render_jenkins_job_xml(pipeline_world.config, action, ctx))
    return pipeline_world


def decide(world, action):
    from autoscaling.services.decisions import scale_decision_record

    event = scale_decision_record(config=world.config, action=action)
    event.refresh_from_db()
    return event


def test_jenkins_runs_scale_out_and_in(jenkins_world, jenkins_double):
    world = jenkins_world
    config = world.config
    config.cooldown_seconds = 0
    config.save()

    out = decide(world, ScaleAction.SCALE_OUT)
    job = f"ixnode-{config.service_name}-scale-out"
    assert out.status == EventStatus.SUCCEEDED, (out.error, out.rollback_summary)
    assert out.executor == Executor.JENKINS
    build = jenkins_double.jobs[job].builds[0]
    assert build.result == "SUCCESS"
    assert out.jenkins_build_url == jenkins_double.build_url(job, 1)
    assert build.parameters["EVENT_ID"] == str(out.pk)
    assert build.parameters["SERVICE_NAME"] == config.service_name
    assert build.parameters["VM_COUNT"] == "1"
    assert build.parameters["CALLBACK_URL"].endswith(f"/api/runs/{out.pk}/steps/")
    assert set(out.stages.values_list("status", flat=True)) == {StageStatus.SUCCEEDED}
    assert len(world.ours()) == 1
    world.prometheus.wait_for_targets(world.job, 3)

    inn = decide(world, ScaleAction.SCALE_IN)
    assert inn.status == EventStatus.SUCCEEDED, (inn.error, inn.rollback_summary)
    assert inn.jenkins_build_url == jenkins_double.build_url(f"ixnode-{config.service_name}-scale-in", 1)
    assert inn.vm_names == out.vm_names
    assert set(inn.stages.values_list("status", flat=True)) == {StageStatus.SUCCEEDED}
    assert f"destroyed {out.vm_names[0]}" in inn.stages.get(name="destroy").log
    world.assert_clean()


def test_jenkins_failed_stage_rolls_back_and_fails_the_build(jenkins_world, jenkins_double):
    world = jenkins_world
    world.f5.inject("POST", r"/members$", 500)
    event = decide(world, ScaleAction.SCALE_OUT)
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error)
    assert "Stage 'f5_add' failed" in event.error
    build = jenkins_double.jobs[f"ixnode-{world.config.service_name}-scale-out"].builds[0]
    assert build.result == "FAILURE"
    assert event.jenkins_build_url == jenkins_double.build_url(build.job, 1)
    world.assert_clean()


def test_missing_job_fails_the_run_without_side_effects(jenkins_world, jenkins_double):
    world = jenkins_world
    JenkinsClient.from_settings().job_delete(name=f"ixnode-{world.config.service_name}-scale-out")
    event = decide(world, ScaleAction.SCALE_OUT)
    assert event.status == EventStatus.FAILED and "Jenkins did not take job" in event.error
    world.assert_clean()


def test_step_callback_auth(jenkins_world, client):
    from unittest import mock

    from autoscaling.services.decisions import scale_decision_record

    with mock.patch("autoscaling.services.decisions.scale_event_enqueue"):
        event = scale_decision_record(config=jenkins_world.config, action=ScaleAction.SCALE_OUT)
    url = f"/api/runs/{event.pk}/steps/"
    assert client.post(url, {"stage": "allocate-ip"}, content_type="application/json").status_code in (401, 403)
    token = Token.objects.get(user__username="jenkins-bot").key
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    bad = client.post(url, {"stage": "nope"}, content_type="application/json", **auth)
    assert bad.status_code == 400 and "Unknown stage" in bad.json()["stage"][0]
    early = client.post(url, {"stage": "clone-vm"}, content_type="application/json", **auth)
    assert early.status_code == 400 and "cannot run before" in early.json()["stage"][0]
    ok = client.post(url, {"stage": "allocate-ip"}, content_type="application/json", **auth)
    assert ok.status_code == 200 and ok.json()["status"] == "running"
    from autoscaling.pipelines.runner import rollback_scale_event

    rollback_scale_event(event.pk, reason="test over")
    jenkins_world.assert_clean()
