"""Concurrent creates of the same config: one 201, the others the same field errors a sequential duplicate gets
(never a 500 IntegrityError, never two configs sharing an IP pool), on SQLite and PostgreSQL — real threads against
the live server."""

from __future__ import annotations

import copy
import threading

import pytest
import requests
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token

from autoscaling.models import AutoscalingConfig
from autoscaling.services.configs import config_build, config_save
from tests.autoscaling.test_api_configs import seed_document

THREADS = 10


def _post_concurrently(url: str, token: str, documents: list[dict]) -> list[requests.Response]:
    barrier = threading.Barrier(len(documents))
    responses: list = [None] * len(documents)

    def worker(i: int) -> None:
        session = requests.Session()
        barrier.wait()
        try:
            responses[i] = session.post(url, json=documents[i], timeout=120,
                                        headers={"Authorization": f"Token {token}"})
        except requests.RequestException as exc:
            responses[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(documents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    failures = [r for r in responses if not isinstance(r, requests.Response)]
    assert not failures, failures
    return responses


@pytest.fixture
def token(transactional_db, django_user_model) -> str:
    user = django_user_model.objects.create_superuser("race", "race@example.invalid", "pw-race-123456")
    return Token.objects.create(user=user).key


def test_ten_identical_creates_one_201_the_rest_field_errors(live_server, token, template):
    document = seed_document(template)
    responses = _post_concurrently(f"{live_server.url}/api/autoscaling/configs/", token, [document] * THREADS)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [400] * (THREADS - 1), [(r.status_code, r.text[:300]) for r in responses]
    for response in responses:
        if response.status_code == 400:
            # Which unique fields a loser names depends on when the winner committed during its validation.
            errors = response.json()
            assert set(errors) <= {"serviceName", "prometheusJobName", "vmPrefix", "f5", "network"}, response.text
            assert "already exists" in response.text, response.text
    assert AutoscalingConfig.objects.filter(service_name="auto-vm-test").count() == 1


def test_creates_racing_for_one_vm_prefix_name_that_field(live_server, token, template):
    documents = []
    for i in range(THREADS):
        document = copy.deepcopy(seed_document(template))
        document["serviceName"] = f"race-{i}"
        document["prometheusJobName"] = f"race-{i}-service"
        document["f5"]["poolName"] = f"race-{i}-pool"
        document["vmPrefix"] = "race-shared"
        subnet = f"127.0.{70 + i}"
        document["network"].update({"ipPoolStart": f"{subnet}.220", "ipPoolEnd": f"{subnet}.228",
                                    "gateway": f"{subnet}.1", "subnetCidr": f"{subnet}.0/24"})
        document["f5"]["vipAddress"] = f"{subnet}.229"
        documents.append(document)
    responses = _post_concurrently(f"{live_server.url}/api/autoscaling/configs/", token, documents)
    assert sorted(r.status_code for r in responses) == [201] + [400] * (THREADS - 1), [r.text[:300] for r in responses]
    for response in responses:
        if response.status_code == 400:
            assert set(response.json()) == {"vmPrefix"}, response.text
    assert AutoscalingConfig.objects.filter(vm_prefix="race-shared").count() == 1


def test_creates_racing_for_one_ip_pool_one_wins(live_server, token, template):
    """No unique constraint guards the pools: config writes are serialised, so each validation sees the winner."""
    documents = []
    for i in range(THREADS):
        document = copy.deepcopy(seed_document(template))
        document.update({"serviceName": f"pool-{i}", "prometheusJobName": f"pool-{i}-service", "vmPrefix": f"pool-{i}"})
        document["f5"]["poolName"] = f"pool-{i}-pool"
        documents.append(document)
    responses = _post_concurrently(f"{live_server.url}/api/autoscaling/configs/", token, documents)
    assert sorted(r.status_code for r in responses) == [201] + [400] * (THREADS - 1), [r.text[:300] for r in responses]
    for response in responses:
        if response.status_code == 400:
            assert set(response.json()) == {"network"} and "overlaps" in response.text, response.text
    assert AutoscalingConfig.objects.filter(service_name__startswith="pool-").count() == 1


def test_a_name_taken_between_validation_and_save_is_the_field_error(config_values):
    """The race, deterministically: validation passed, then another writer took the name before the save."""
    config = config_build(values=config_values)
    AutoscalingConfig.objects.create(**{**config_values, "vm_prefix": "other-prefix",
                                        "prometheus_job_name": "other-job", "f5_pool_name": "other-pool"})
    with pytest.raises(ValidationError) as caught:
        config_save(config=config)
    assert set(caught.value.message_dict) == {"service_name"}
    assert AutoscalingConfig.objects.filter(service_name=config_values["service_name"]).count() == 1
