"""Target registration: the service (locally and over SFTP) and the API."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from artifacts.targets import target_add, target_normalize, target_remove, targets_list

pytest_plugins = ["tests.fixtures.plg", "tests.fixtures.sshd"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1:9100", "127.0.0.1:9100"),
        (" 127.0.0.5 ", "127.0.0.5:9100"),
        ("VM-01.Example.internal:9100", "vm-01.example.internal:9100"),
        ("[::1]:9100", "[::1]:9100"),
        ("::1", "[::1]:9100"),
    ],
)
def test_normalize(raw, expected):
    assert target_normalize(raw, default_port=9100) == expected


@pytest.mark.parametrize("raw", ["", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:http", "bad_host:1", "-a:1",
                                 "[::1:9100", "a b:1", "123", "123:9100", "10.1.2:9100", 123, None])
def test_invalid_targets(raw):
    with pytest.raises(ValidationError):
        target_normalize(raw, default_port=9100)


def test_add_remove_list(db, plg_files, config):
    assert targets_list(config=config) == []
    assert target_add(config=config, target="127.0.0.2:9100") == (["127.0.0.2:9100"], True)
    assert target_add(config=config, target="127.0.0.1") == (["127.0.0.1:9100", "127.0.0.2:9100"], True)
    assert target_add(config=config, target="127.0.0.1:9100")[1] is False
    data = json.loads((plg_files.targets_dir / "ixnode-auto-vm-test.json").read_text())
    assert data == [{"targets": ["127.0.0.1:9100", "127.0.0.2:9100"], "labels": {"service": "auto-vm-test"}}]
    assert target_remove(config=config, target="127.0.0.2:9100") == (["127.0.0.1:9100"], True)
    assert target_remove(config=config, target="127.0.0.2:9100")[1] is False
    assert targets_list(config=config) == ["127.0.0.1:9100"]


def test_broken_targets_file_is_not_overwritten(db, plg_files, config):
    from ixnode.integrations.plg.client import PlgError

    plg_files.targets_dir.mkdir(parents=True)
    path = plg_files.targets_dir / "ixnode-auto-vm-test.json"
    path.write_text("{not json")
    with pytest.raises(PlgError, match="not a valid file_sd JSON"):
        target_add(config=config, target="127.0.0.1:9100")
    assert path.read_text() == "{not json"


def test_targets_over_sftp(db, settings, sshd, tmp_path, config):
    from tests.artifacts.test_publish import ssh_settings

    files = ssh_settings(settings, sshd, tmp_path)
    target_add(config=config, target="127.0.0.3:9100")
    assert json.loads((files.targets_dir / "ixnode-auto-vm-test.json").read_text())[0]["targets"] == ["127.0.0.3:9100"]
    assert targets_list(config=config) == ["127.0.0.3:9100"]
    assert not [p for p in files.targets_dir.iterdir() if ".ixnode-tmp" in p.name], "temp files are cleaned up"


@pytest.fixture
def operator(db):
    user = User.objects.create_user("operator", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_autoscalingconfig",
                                                                        "change_autoscalingconfig"]))
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def test_api(operator, plg_files, config):
    url = "/api/autoscaling/configs/auto-vm-test/targets/"
    assert operator.get(url).json() == {"service": "auto-vm-test", "targets": []}
    created = operator.post(url, {"target": "127.0.0.9:9100"}, format="json")
    assert created.status_code == 201 and created.json()["targets"] == ["127.0.0.9:9100"]
    assert operator.post(url, {"target": "127.0.0.9:9100"}, format="json").status_code == 200
    bad = operator.post(url, {"target": "127.0.0.9:99999"}, format="json")
    assert bad.status_code == 400 and "target" in bad.json()
    assert operator.post(url, {}, format="json").status_code == 400
    for wrong in (123, 12.5, True, ["127.0.0.9:9100"], "123", "123:9100"):
        answer = operator.post(url, {"target": wrong}, format="json")
        assert answer.status_code == 400 and answer.json()["target"], (wrong, answer.content)
    assert operator.get(url).json()["targets"] == ["127.0.0.9:9100"], "nothing wrong was stored"
    assert operator.delete(url + "127.0.0.9:9100/").status_code == 204
    assert operator.delete(url + "127.0.0.9:9100/").status_code == 404
    assert operator.delete(url + "not a target/").status_code == 400
    assert operator.get("/api/autoscaling/configs/nope/targets/").status_code == 404


def test_api_permissions(db, plg_files, config):
    url = "/api/autoscaling/configs/auto-vm-test/targets/"
    assert APIClient().get(url).status_code in (401, 403)
    viewer = User.objects.create_user("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_autoscalingconfig"))
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=viewer.pk))
    assert client.get(url).status_code == 200
    assert client.post(url, {"target": "127.0.0.1:9100"}, format="json").status_code == 403


def test_api_plg_unreachable_is_503(operator, plg_files, config, settings):
    settings.IXNODE_PLG_MODE = "ssh"
    settings.IXNODE_PLG_SSH_HOST = "127.0.0.1"
    settings.IXNODE_PLG_SSH_PORT = 9
    settings.IXNODE_PLG_SSH_USER = "nobody"
    response = operator.get("/api/autoscaling/configs/auto-vm-test/targets/")
    assert response.status_code == 503 and "cannot connect" in response.json()["detail"]
