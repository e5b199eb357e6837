"""Exporter install jobs end to end: real sshd, Debian's node exporter, file_sd registration, uninstall."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from exporters.services import HostSpec, exporter_install_create, exporter_install_run, monitoring_agents_remove
from tests.fixtures.sshd import free_port

pytest_plugins = ["tests.fixtures.sshd", "tests.fixtures.plg"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def ssh_env(settings, sshd, tmp_path):
    settings.IXNODE_SSH_HOST_KEY_POLICY = "known_hosts-file"
    settings.IXNODE_SSH_KNOWN_HOSTS = str(sshd.write_known_hosts(tmp_path / "known_hosts"))
    settings.IXNODE_EXPORTER_DIR = str(tmp_path / "agents")
    return sshd


@pytest.fixture
def job_args(ssh_env, config, plg_files):
    port = free_port()
    args = {
        "hosts": [HostSpec(address="127.0.0.1", vm_name="auto-vm-test-base-1")],
        "components": ["node_exporter"],
        "ssh_user": ssh_env.user,
        "ssh_key_path": str(ssh_env.key_path),
        "ssh_port": ssh_env.port,
        "config": config,
        "listen_host": "127.0.0.1",
        "exporter_port": port,
    }
    yield args
    monitoring_agents_remove(address="127.0.0.1", ssh_user=ssh_env.user, ssh_key_path=str(ssh_env.key_path),
                             ssh_port=ssh_env.port, components=["node_exporter"], config=config, exporter_port=port)


def run_job(django_capture_on_commit_callbacks, **args):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        install = exporter_install_create(**args)
    assert len(callbacks) == 1  # the job is enqueued once the transaction commits
    return exporter_install_run(install_id=install.pk)


def test_install_twice_changes_nothing_then_uninstall(job_args, config, django_capture_on_commit_callbacks):
    from artifacts.targets import targets_list

    port = job_args["exporter_port"]
    first = run_job(django_capture_on_commit_callbacks, **job_args)
    host = first.hosts.get()
    assert first.status == "succeeded", host.log
    assert host.status == "succeeded" and host.changed and host.metrics_ok
    assert host.target == f"127.0.0.1:{port}"
    assert "node_cpu_seconds_total" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert targets_list(config=config) == [f"127.0.0.1:{port}"]

    second = run_job(django_capture_on_commit_callbacks, **job_args)
    again = second.hosts.get()
    assert second.status == "succeeded" and again.changed is False, again.log
    assert "nothing to change" in again.log

    removal = run_job(django_capture_on_commit_callbacks, **{**job_args, "action": "uninstall"})
    gone = removal.hosts.get()
    assert removal.status == "succeeded" and gone.changed, gone.log
    assert targets_list(config=config) == []
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_unreachable_host_fails_with_reason(job_args, django_capture_on_commit_callbacks):
    args = {**job_args, "hosts": [*job_args["hosts"], HostSpec(address="127.0.0.2", vm_name="down")],
            "ssh_port": free_port()}
    install = run_job(django_capture_on_commit_callbacks, **args)
    assert install.status == "failed"
    assert all(h.status == "failed" and "ERROR: SSH" in h.log for h in install.hosts.all())


def test_invalid_job_is_rejected(ssh_env):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        exporter_install_create(hosts=[], components=["nope"], ssh_user="u", ssh_key_path="")
    assert set(info.value.message_dict) == {"hosts", "components", "ssh_key_path"}


def test_page_starts_a_job_and_shows_progress(admin_client, job_args, django_capture_on_commit_callbacks):
    data = {
        "extra_hosts": "auto-vm-test-base-1 127.0.0.1\n",
        "action": "install",
        "components": ["node_exporter"],
        "config": job_args["config"].service_name,
        "ssh_user": job_args["ssh_user"],
        "ssh_key_path": job_args["ssh_key_path"],
        "ssh_port": job_args["ssh_port"],
        "source": "package",
        "exporter_port": job_args["exporter_port"],
    }
    assert admin_client.get(reverse("exporters:list")).status_code == 200
    bad = admin_client.post(reverse("exporters:list"), {**data, "extra_hosts": "a b c"})
    assert bad.status_code == 200 and "Line 1" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(reverse("exporters:list"), data)
    assert response.status_code == 302
    install_id = int(response["Location"].rstrip("/").split("/")[-1])
    progress = admin_client.get(reverse("exporters:progress", args=[install_id])).json()
    assert progress["status"] == "pending" and progress["hosts"][0]["address"] == "127.0.0.1"
    page = admin_client.get(response["Location"]).content.decode()
    assert "auto-vm-test-base-1" in page and "data-install-live" in page


def test_scale_in_removes_the_agents_we_installed(job_args, config, django_capture_on_commit_callbacks):
    from exporters.services import exporter_uninstall_for_vm

    assert exporter_uninstall_for_vm(vm_name="never-seen", ip="127.0.0.9") == "no agents installed by us on never-seen"
    port = job_args["exporter_port"]
    assert run_job(django_capture_on_commit_callbacks, **job_args).status == "succeeded"
    said = exporter_uninstall_for_vm(vm_name="auto-vm-test-base-1", ip="127.0.0.1")
    assert "stopped node_exporter" in said
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    assert "already removed" in exporter_uninstall_for_vm(vm_name="auto-vm-test-base-1", ip="127.0.0.1")
