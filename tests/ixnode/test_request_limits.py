"""Body size and JSON depth limits (``ixnode.guards``, ``ixnode.api.parsers``): 413 / 400 naming the limit, for every
JSON endpoint, logged at WARNING without a traceback; the client reads the answer (no connection reset)."""

from __future__ import annotations

import json
import logging
import socket

import pytest
import requests
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from autoscaling.models import ManagedVM
from ixnode.api.parsers import JSONParser, json_nesting_exceeds
from tests.fixtures.hostile import (
    HOSTILE_DEPTHS,
    brackets_in_strings,
    nested_arrays,
    nested_objects,
    unclosed_arrays,
)

WEBHOOK_TOKEN = "test-webhook-token"
LIMIT = 2_621_440


@pytest.fixture
def world(config):
    """The config "auto-vm-test" and one VM it created (every path of BODY_ENDPOINTS names a real object)."""
    ManagedVM.objects.create(config=config, name="auto-vm-test-20250101000000", ip_address="127.0.48.221")
    return config


@pytest.fixture
def operator_api(db, django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_superuser("lim", "lim@example.invalid", "pw-12345678"))
    return client


@pytest.fixture
def webhook_api(settings):
    settings.IXNODE_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {WEBHOOK_TOKEN}")
    return client


# Every API operation that takes a body (method, path); the config "auto-vm-test" exists.
BODY_ENDPOINTS = [
    ("post", "/api/webhook/autoscale/auto-vm-test"),
    ("post", "/api/autoscaling/configs/"),
    ("put", "/api/autoscaling/configs/auto-vm-test/"),
    ("patch", "/api/autoscaling/configs/auto-vm-test/"),
    ("post", "/api/autoscaling/configs/auto-vm-test/scale/"),
    ("post", "/api/autoscaling/configs/auto-vm-test/desired-count/"),
    ("post", "/api/autoscaling/configs/auto-vm-test/targets/"),
    ("put", "/api/policies/auto-vm-test/"),
    ("patch", "/api/policies/auto-vm-test/"),
    ("post", "/api/policies/auto-vm-test/suspend"),
    ("post", "/api/policies/auto-vm-test/dry-run"),
    ("post", "/api/policies/auto-vm-test/whatif-runs/"),
    ("patch", "/api/managed-vms/auto-vm-test-20250101000000/protection"),
    ("post", "/api/templates/"),
    ("post", "/api/templates/from-vm/"),
]


def _client(path, operator_api, webhook_api):
    return webhook_api if path.startswith("/api/webhook/") else operator_api


def _api_views(patterns=None):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from _api_views(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "cls", None)
            if isinstance(view, type) and issubclass(view, APIView):
                yield str(entry.pattern), view


def test_every_api_view_reads_json_only_through_the_depth_limited_parser():
    views = list(_api_views())
    assert len(views) > 15
    for route, view in views:
        assert view.parser_classes == [JSONParser], (route, view, view.parser_classes)


@pytest.mark.parametrize(("text", "limit", "exceeds"), [
    (nested_arrays(32), 32, False),
    (nested_arrays(33), 32, True),
    (nested_objects(33), 32, True),
    ('{"a": [1, {"b": [[]]}], "c": {}}', 5, False),
    ('{"a": [1, {"b": [[]]}], "c": {}}', 4, True),
    (brackets_in_strings(10_000), 2, False),
    ('"\\"[[[[[["', 1, False),
    (unclosed_arrays(100), 32, True),  # never closed, but already nested 100 deep
    ("[[[]", 32, False),  # malformed, not "too deep": the JSON parser says what is wrong
    ("[}", 32, False),
    ("[[]" * 40 + "]" * 40, 32, True),  # no 33 opening brackets in a row, still 41 deep
    ("[[]" * 31 + "]" * 31, 32, False),  # 32 deep
    ("", 32, False),
])
def test_nesting_measure(text, limit, exceeds):
    assert json_nesting_exceeds(text, limit) is exceeds


@pytest.mark.parametrize("depth", HOSTILE_DEPTHS)
@pytest.mark.parametrize("shape", [nested_arrays, nested_objects, unclosed_arrays])
@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_deep_json_is_a_400_naming_the_limit(method, path, shape, depth, world, operator_api, webhook_api, caplog):
    client = _client(path, operator_api, webhook_api)
    with caplog.at_level(logging.WARNING):
        response = getattr(client, method)(path, data=shape(depth), content_type="application/json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "parse_error"
    assert "32 levels" in body["detail"] and "IXNODE_API_JSON_MAX_DEPTH" in body["detail"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_depth_within_the_limit_and_brackets_in_strings_are_parsed(config, operator_api, settings):
    response = operator_api.post("/api/autoscaling/configs/", data=brackets_in_strings(5000),
                                 content_type="application/json")
    assert response.status_code == 400
    assert "serviceName" in response.json()  # a field error: the body was parsed
    settings.IXNODE_API_JSON_MAX_DEPTH = 3
    deep = operator_api.post("/api/autoscaling/configs/", data=json.dumps({"network": {"a": [[1]]}}),
                             content_type="application/json")
    assert "3 levels" in deep.json()["detail"]


def test_body_above_the_limit_is_a_413_naming_it(world, operator_api, webhook_api, caplog):
    body = b'{"pad": "' + b"x" * (LIMIT + 10) + b'"}'
    for method, path in BODY_ENDPOINTS:
        client = _client(path, operator_api, webhook_api)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            response = getattr(client, method)(path, data=body, content_type="application/json")
        assert response.status_code == 413, (path, response.status_code, response.content[:200])
        answer = response.json()
        assert answer["code"] == "body_too_large" and answer["limit"] == LIMIT
        assert f"{LIMIT} bytes" in answer["detail"] and "DATA_UPLOAD_MAX_MEMORY_SIZE" in answer["detail"]
        warnings = [r for r in caplog.records if r.name == "ixnode.guards"]
        assert [r.levelno for r in warnings] == [logging.WARNING]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], path


def test_body_limit_follows_the_setting_and_pages_get_plain_text(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = admin_client.post("/configs/new/", data="x" * 1001, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert "1000 bytes" in response.content.decode()
    under = admin_client.post("/configs/new/", data="x=1", content_type="application/x-www-form-urlencoded")
    assert under.status_code in (200, 400) and b"<form" in under.content  # under the limit: the form and its errors


def _raw_post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """POST over a plain socket, sending the whole body before reading: a server that answers and closes without
    reading it makes the send fail (connection reset / broken pipe)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.django_db(transaction=True)
def test_big_body_answer_reaches_the_client_over_http(live_server, config, settings):
    settings.IXNODE_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    body = b"[" + b"1," * (5 * 1024 * 1024 // 2) + b"1]"  # 5 MiB of valid JSON
    answer = _raw_post(f"{live_server.url}/api/webhook/autoscale/auto-vm-test", body,
                       {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"})
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line, answer[:300]
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["limit"] == LIMIT
    # The same through requests (what an operator's script uses): an answer, not a ConnectionError.
    response = requests.post(f"{live_server.url}/api/autoscaling/configs/", data=body, timeout=30,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"
