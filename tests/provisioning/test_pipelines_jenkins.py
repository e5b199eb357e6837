"""The Jenkins executor against the Jenkins double: right job, right parameters, build URL recorded, and the
job's stages run the same stage code (stage callback → ``run_one_step``) on a live server."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token

from artifacts.renderers.context import RenderContext
from artifacts.renderers.jenkins import render_jenkins_job_xml
from artifacts.renderers.naming import jenkins_job_name
from events.choices import EventStatus, Executor, ScaleAction, StageStatus
from ixnode.integrations.jenkins.client import JenkinsClient, jenkins_client

pytestmark = pytest.mark.slow

MINIMAL_JOB_XML = (
    "<?xml version='1.1' encoding='UTF-8'?><flow-definition plugin=\"workflow-job\">"
    "<definition class=\"org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition\"><script>node { echo 'hi' }</script>"
    "<sandbox>true</sandbox></definition></flow-definition>"
)
pytest_plugins = ["tests.fixtures.pipeline_env", "tests.doubles.jenkins"]


@pytest.fixture
def jenkins_world(pipeline_world, jenkins_double, live_server, settings, q_sync):
    settings.IXNODE_EXECUTOR = "jenkins"
    settings.IXNODE_PUBLIC_URL = live_server.url
    settings.IXNODE_JENKINS_POLL_SECONDS = 0.05
    user = User.objects.create_user("jenkins-bot")
    user.user_permissions.add(Permission.objects.get(codename="change_scaleevent"))
    jenkins_double.credentials[settings.IXNODE_JENKINS_API_CREDENTIALS_ID] = Token.objects.create(user=user).key
    client = jenkins_client()
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
    jenkins_client().job_delete(name=f"ixnode-{world.config.service_name}-scale-out")
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
    from provisioning.runner import rollback_scale_event

    rollback_scale_event(event.pk, reason="test over")
    jenkins_world.assert_clean()


def test_queue_follow_failure_mid_build_rolls_back(jenkins_world, jenkins_double, monkeypatch):
    """Following the queue item fails while the build already ran stages (a VM was cloned): the run is rolled
    back — nothing leaks — instead of being marked failed with the VM left behind."""
    from ixnode.integrations.jenkins.client import JenkinsError

    world = jenkins_world
    job = f"ixnode-{world.config.service_name}-scale-out"
    jenkins_double.hold_after_stage = "clone-vm"
    original = JenkinsClient.queue_item

    def flaky_queue_item(self, *, queue_id):
        item = original(self, queue_id=queue_id)
        if item.build_number is not None:
            assert jenkins_double.jobs[job].builds[0].held.wait(30)
            raise JenkinsError("Jenkins at test: read queue item failed with HTTP 500")
        return item

    monkeypatch.setattr(JenkinsClient, "queue_item", flaky_queue_item)
    event = decide(world, ScaleAction.SCALE_OUT)
    try:
        assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error, event.rollback_summary)
        assert "could not be followed" in event.error
        # the build the queue item became is stopped (found by its queueId: the queue item is unreadable)
        assert "Its build #1 was stopped." in event.error
        assert ("POST", f"/job/{job}/1/stop") in jenkins_double.requests
        assert jenkins_double.jobs[job].builds[0].result == "ABORTED"
        assert "destroyed VM" in event.rollback_summary and "released IP" in event.rollback_summary
        world.assert_clean()
    finally:
        jenkins_double.finish_build(job, 1, "ABORTED")


def test_queue_timeout_cancels_the_queue_item(jenkins_world, jenkins_double, settings):
    world = jenkins_world
    settings.IXNODE_PIPELINE_QUEUED_TIMEOUT = 0.5
    jenkins_double.hold_queue = True
    event = decide(world, ScaleAction.SCALE_OUT)
    assert event.status == EventStatus.ROLLED_BACK, (event.status, event.error)
    assert "did not start within" in event.error and "cancelled" in event.error
    [item] = jenkins_double.queue.values()
    assert item.cancelled and item.build is None
    assert ("POST", f"/queue/cancelItem?id={item.id}") in jenkins_double.requests
    jenkins_double.hold_queue = False
    time.sleep(0.2)
    assert not jenkins_double.jobs[f"ixnode-{world.config.service_name}-scale-out"].builds
    world.assert_clean()


def test_queue_cancel_against_the_double(jenkins_double):
    from ixnode.integrations.jenkins.client import JenkinsError

    client = jenkins_client()
    jenkins_double.hold_queue = True
    client.job_upsert(name="cancel-me", config_xml=MINIMAL_JOB_XML)
    queue_id = client.build_start(name="cancel-me", parameters={"EVENT_ID": "1"})
    client.queue_cancel(queue_id=queue_id)
    assert client.queue_item(queue_id=queue_id).cancelled
    client.queue_cancel(queue_id=9999)  # unknown item: Jenkins answers 404, python-jenkins ignores it
    jenkins_double.hold_queue = False
    second = client.build_start(name="cancel-me", parameters={"EVENT_ID": "2"})
    jenkins_double.wait_build("cancel-me", 1)
    with pytest.raises(JenkinsError):  # left the queue: not cancellable (422)
        client.queue_cancel(queue_id=second)
    # which build a queue item became: from the item, or by the builds' queueId once Jenkins forgot the item
    assert client.build_for_queue_item(name="cancel-me", queue_id=second) == 1
    assert client.build_for_queue_item(name="cancel-me", queue_id=queue_id) is None  # cancelled: no build
    del jenkins_double.queue[second]
    assert client.build_for_queue_item(name="cancel-me", queue_id=second) == 1


@pytest.mark.django_db
def test_abandoning_waits_for_a_step_still_executing(config, monkeypatch):
    """After the build is stopped, a step the callback is still executing in our process finishes before the
    rollback reads the plan; a step that never ends is waited for only up to the timeout."""
    from events.models import ScaleEvent, ScaleEventStage
    from provisioning import executors

    event = ScaleEvent.objects.create(config=config, service_name=config.service_name, action=ScaleAction.SCALE_OUT,
                                      decision="ALLOW", status=EventStatus.RUNNING, executor=Executor.JENKINS)
    stage = ScaleEventStage.objects.create(event=event, name="clone", position=2, status=StageStatus.RUNNING)
    polls = []

    def poll(seconds=None):
        polls.append(seconds)
        if len(polls) == 3:  # the step ends while we wait
            ScaleEventStage.objects.filter(pk=stage.pk).update(status=StageStatus.SUCCEEDED)

    monkeypatch.setattr(executors, "_poll", poll)
    assert executors.step_in_progress_wait(event, timeout=60) is True and len(polls) == 3

    ScaleEventStage.objects.filter(pk=stage.pk).update(status=StageStatus.RUNNING)
    monkeypatch.setattr(executors, "_poll", lambda seconds=None: time.sleep(0.01))
    started = time.monotonic()
    assert executors.step_in_progress_wait(event, timeout=0.1) is False
    assert time.monotonic() - started < 5
