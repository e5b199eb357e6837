"""Path parameters no config, VM or target can have (NUL, control characters, upper case, too long) are answered
404 by the URL resolver (``autoscaling.converters``) — JSON under /api/ — before any view runs a query with them
(PostgreSQL refuses NUL in a string with a DataError, which was a 500)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.fixtures.hostile import HOSTILE_NAMES

WEBHOOK_TOKEN = "test-webhook-token"

API_ROUTES = [  # (method, path with {name})
    ("post", "/api/webhook/autoscale/{name}"),
    ("post", "/api/webhook/autoscale/{name}/"),
    ("get", "/api/autoscaling/configs/{name}/"),
    ("patch", "/api/autoscaling/configs/{name}/"),
    ("delete", "/api/autoscaling/configs/{name}/"),
    ("post", "/api/autoscaling/configs/{name}/scale/"),
    ("post", "/api/autoscaling/configs/{name}/desired-count/"),
    ("get", "/api/autoscaling/configs/{name}/targets/"),
    ("delete", "/api/autoscaling/configs/auto-vm-test/targets/{name}/"),
    ("get", "/api/policies/{name}/"),
    ("post", "/api/policies/{name}/suspend"),
    ("post", "/api/policies/{name}/dry-run"),
    ("get", "/api/policies/{name}/whatif-runs/"),
    ("post", "/api/policies/{name}/whatif-runs/"),
    ("get", "/api/policies/{name}/whatif-runs/1/"),
    ("get", "/api/policies/{name}/whatif-runs/1/plot"),
    ("get", "/api/autoscaling/drift/{name}/"),
    ("get", "/api/managed-vms/{name}/protection"),
    ("patch", "/api/managed-vms/{name}/protection"),
]
PAGE_ROUTES = [
    "/services/{name}/", "/services/{name}/chart.json", "/services/{name}/run.json", "/services/{name}/diagnostics/",
    "/services/{name}/edit/", "/services/{name}/controls/",
]
# Names the resolver must refuse on every route (a target name is host:port, so upper case and length are fine
# there; NUL and control characters are refused everywhere).
EVERYWHERE = [name for name in HOSTILE_NAMES if "%" in name]


@pytest.fixture
def operator_api(db, django_user_model, settings):
    settings.IXNODE_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_superuser("pp", "pp@example.invalid", "pw-12345678"))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {WEBHOOK_TOKEN}")  # the webhook's; the others are forced
    return client


def _names(path: str) -> list[str]:
    return EVERYWHERE if "/targets/{name}" in path or "managed-vms" in path else HOSTILE_NAMES


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_api_path_parameters_404_json_before_the_database(method, path, config, operator_api):
    for name in _names(path):
        url = path.format(name=name)
        with CaptureQueriesContext(connection) as queries:
            if method in ("get", "delete"):
                response = getattr(operator_api, method)(url)
            else:
                response = getattr(operator_api, method)(url, data="{}", content_type="application/json")
        assert response.status_code == 404, (url, response.status_code, response.content[:200])
        assert response["Content-Type"] == "application/json", url
        assert response.json()["detail"]
        assert not queries.captured_queries, (url, [q["sql"] for q in queries.captured_queries])


@pytest.mark.parametrize("path", PAGE_ROUTES)
def test_page_path_parameters_404(path, config, admin_client):
    for name in HOSTILE_NAMES:
        url = path.format(name=name)
        response = admin_client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        if url.endswith(".json"):
            assert response["Content-Type"] == "application/json"


def test_real_names_still_resolve(config, operator_api, admin_client):
    assert operator_api.get("/api/autoscaling/configs/auto-vm-test/").status_code == 200
    assert operator_api.get("/api/autoscaling/configs/no-such-service/").status_code == 404
    assert admin_client.get("/services/auto-vm-test/").status_code == 200
