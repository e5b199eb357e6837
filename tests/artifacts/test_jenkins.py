"""Jenkins sync and builds through python-jenkins against the Jenkins REST double."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from artifacts.renderers.context import RenderContext
from artifacts.renderers.jenkins import render_jenkins_jobs
from artifacts.services import artifacts_regenerate
from autoscaling.choices import ArtifactStatus
from ixnode.integrations.jenkins.client import (
    JenkinsAuthError,
    JenkinsClient,
    JenkinsNotFoundError,
    JenkinsUnavailableError,
)

pytest_plugins = ["tests.doubles.jenkins", "tests.fixtures.plg"]


@pytest.fixture
def client(jenkins_double) -> JenkinsClient:
    return JenkinsClient(url=jenkins_double.url, user=jenkins_double.user, token=jenkins_double.token, timeout=5)


def test_create_update_only_when_changed_delete(client, jenkins_double, config):
    jobs = render_jenkins_jobs(config, RenderContext())
    name, xml = next(iter(jobs.items()))
    assert client.job_upsert(name=name, config_xml=xml) == "created"
    assert jenkins_double.jobs[name].config_xml == xml
    posts = [r for r in jenkins_double.requests if r[0] == "POST"]
    assert client.job_upsert(name=name, config_xml=xml) == "unchanged"
    assert [r for r in jenkins_double.requests if r[0] == "POST"] == posts, "no write when the XML is the same"
    # Jenkins may hand back reformatted XML: still unchanged.
    jenkins_double.jobs[name].config_xml = re.sub(r">\s+<", "><", xml).replace("version='1.1'", 'version="1.1"')
    assert client.job_upsert(name=name, config_xml=xml) == "unchanged"
    changed = xml.replace("allocate-ip", "allocate-address")
    assert client.job_upsert(name=name, config_xml=changed) == "updated"
    assert "allocate-address" in jenkins_double.jobs[name].config_xml
    assert client.job_delete(name=name) is True
    assert name not in jenkins_double.jobs
    assert client.job_delete(name=name) is False
    assert ("GET", "/crumbIssuer/api/json") in jenkins_double.requests


def test_wrong_token_is_a_clear_auth_error(jenkins_double):
    bad = JenkinsClient(url=jenkins_double.url, user=jenkins_double.user, token="wrong", timeout=5)
    with pytest.raises(JenkinsAuthError, match="IXNODE_JENKINS_USER/IXNODE_JENKINS_TOKEN"):
        bad.job_upsert(name="x", config_xml="<project/>")


def test_unreachable_jenkins_is_a_clear_error():
    with pytest.raises(JenkinsUnavailableError, match="unreachable"):
        JenkinsClient(url="http://127.0.0.1:9", user="u", token="t", timeout=2).job_config(name="x")


def test_missing_build_is_not_found(client, jenkins_double, config):
    name, xml = next(iter(render_jenkins_jobs(config, RenderContext()).items()))
    client.job_upsert(name=name, config_xml=xml)
    with pytest.raises(JenkinsNotFoundError):
        client.build_status(name=name, number=7)


class Callback(BaseHTTPRequestHandler):
    calls: list = []
    fail_stage = ""

    def log_message(self, *args):
        return

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Callback.calls.append((body, self.headers.get("Authorization")))
        status = 500 if body["stage"] == Callback.fail_stage else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def callback_server():
    Callback.calls, Callback.fail_stage = [], ""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/runs/12/stage/"
    server.shutdown()
    server.server_close()


def test_builds_run_the_generated_stages(client, jenkins_double, config, callback_server):
    jenkins_double.credentials["ixnode-api-token"] = "api-secret"
    jobs = render_jenkins_jobs(config, RenderContext())
    name = "ixnode-auto-vm-test-scale-out"
    client.job_upsert(name=name, config_xml=jobs[name])
    queue_id = client.build_start(name=name, parameters={"EVENT_ID": 12, "CALLBACK_URL": callback_server})
    jenkins_double.wait_build(name, 1)
    item = client.queue_item(queue_id=queue_id)
    assert item.build_number == 1 and item.job == name and not item.cancelled
    status = client.build_status(name=name, number=1)
    assert status.succeeded, status
    assert [call[0]["stage"] for call in Callback.calls] == [
        "allocate-ip", "clone-vm", "power-on", "configure-network", "wait-healthy", "f5-add-member",
        "prometheus-add-target", "complete",
    ]
    assert {call[1] for call in Callback.calls} == {"Bearer api-secret"}
    assert Callback.calls[0][0]["event_id"] == "12"

    Callback.calls.clear()
    Callback.fail_stage = "clone-vm"
    client.build_start(name=name, parameters={"EVENT_ID": 13, "CALLBACK_URL": callback_server})
    jenkins_double.wait_build(name, 2)
    failed = client.build_status(name=name, number=2)
    assert failed.result == "FAILURE" and not failed.building
    assert [call[0]["stage"] for call in Callback.calls] == ["allocate-ip", "clone-vm"]


def test_held_build_reports_building_until_finished(client, jenkins_double, config):
    jenkins_double.hold_builds = True
    name = "ixnode-auto-vm-test-scale-in"
    client.job_upsert(name=name, config_xml=render_jenkins_jobs(config, RenderContext())[name])
    queue_id = client.build_start(name=name, parameters={"EVENT_ID": 1})
    for _ in range(200):
        if client.queue_item(queue_id=queue_id).build_number:
            break
        threading.Event().wait(0.02)
    assert client.build_status(name=name, number=1).building
    jenkins_double.finish_build(name, 1, "ABORTED")
    assert client.build_status(name=name, number=1).result == "ABORTED"


def test_regeneration_syncs_and_removes_jenkins_jobs(db, plg_files, jenkins_double, config, settings):
    settings.IXNODE_JENKINS_URL = jenkins_double.url
    outcome = artifacts_regenerate(service_name=config.service_name, config_id=config.pk)
    assert outcome.status == ArtifactStatus.ACTIVE, outcome.error
    assert set(jenkins_double.jobs) == {"ixnode-auto-vm-test-scale-out", "ixnode-auto-vm-test-scale-in"}
    assert "created" in outcome.jenkins
    assert "unchanged" in artifacts_regenerate(service_name=config.service_name, config_id=config.pk).jenkins
    config.enabled = False
    config.save()
    outcome = artifacts_regenerate(service_name=config.service_name, config_id=config.pk)
    assert outcome.status == ArtifactStatus.REMOVED and jenkins_double.jobs == {}


def test_unreachable_jenkins_marks_the_config_error(db, plg_files, config, settings):
    settings.IXNODE_JENKINS_URL = "http://127.0.0.1:9"
    settings.IXNODE_JENKINS_TIMEOUT = 2
    outcome = artifacts_regenerate(service_name=config.service_name, config_id=config.pk)
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert "Jenkins" in config.artifacts_error and "IXNODE_JENKINS_URL" in config.artifacts_error
    assert outcome.plg.startswith("published"), "PLG artifacts are still published"


@pytest.mark.django_db(transaction=True)
def test_rename_removes_jobs_under_the_old_name(plg_files, jenkins_double, config_values, settings):
    from autoscaling.models import AutoscalingConfig

    settings.IXNODE_JENKINS_URL = jenkins_double.url
    settings.IXNODE_ARTIFACTS_SYNC = True
    config = AutoscalingConfig.objects.create(**config_values)
    assert set(jenkins_double.jobs) == {"ixnode-auto-vm-test-scale-out", "ixnode-auto-vm-test-scale-in"}
    config.service_name = "auto-vm-renamed"
    config.save()
    assert set(jenkins_double.jobs) == {"ixnode-auto-vm-renamed-scale-out", "ixnode-auto-vm-renamed-scale-in"}
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error
    assert not (plg_files.rules_dir / "ixnode-auto-vm-test.rules.yml").exists()
