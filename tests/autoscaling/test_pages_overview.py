"""Overview and chart against a real Prometheus holding backfilled node_exporter history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

pytest_plugins = ["tests.fixtures.prometheus_history"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def history(prometheus_history, settings):
    settings.IXNODE_PROMETHEUS_URL = prometheus_history.url
    cache.clear()
    return prometheus_history


@pytest.fixture
def shop(make_config, history):
    return make_config("shop-web", octet=60, prometheus_job_name=history.job, min_vms=2, max_vms=3)


def test_overview_rows(operator_client, shop, make_config, make_event, make_run, history,
                       django_assert_max_num_queries):
    from autoscaling.models import CooldownState

    CooldownState.objects.create(config=shop, last_scale_out_at=timezone.now() - dt.timedelta(seconds=100))
    make_event(shop, decision="BLOCK_MAX", status="blocked", reason="3 >= max 3", minutes_ago=1)
    others = [make_config(f"svc-{i}", octet=70 + i) for i in range(12)]
    for i, other in enumerate(others):
        make_event(other, minutes_ago=5 + i)
        if i % 3 == 0:
            make_run(other)
    with django_assert_max_num_queries(8):
        response = operator_client.get(reverse("autoscaling:overview"))
    assert response.status_code == 200
    rows = {row.config.service_name: row for row in response.context["rows"]}
    assert len(rows) == 13
    row = rows["shop-web"]
    assert row.vm_count == 3 and row.at_max
    assert 195 <= row.cooldown_out_remaining <= 200 and row.cooldown_in_remaining == 0
    assert row.last_event.decision == "BLOCK_MAX" and row.run is None
    assert rows["svc-0"].run is not None and rows["svc-0"].run.current_stage == "allocate_ip"
    assert rows["svc-1"].run is None and rows["svc-1"].vm_count == 0  # job unknown to Prometheus: no targets
    health = {item.key: item for item in response.context["health"]}
    assert health["prometheus"].ok is True
    body = response.content.decode()
    assert 'data-service="shop-web"' in body and "3 &gt;= max 3" not in body  # reasons stay on the event page


def test_overview_when_prometheus_is_down(operator_client, shop, settings):
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    cache.clear()
    response = operator_client.get(reverse("autoscaling:overview"))
    assert response.status_code == 200
    assert response.context["rows"][0].vm_count is None
    problem = response.context["count_problem"]
    assert problem.summary == f"Prometheus at {settings.IXNODE_PROMETHEUS_URL} is not reachable (connection refused)."
    assert "NewConnectionError" in problem.detail  # kept, folded away
    body = response.content.decode()
    assert problem.summary in body and "<details class=\"technical\">" in body
    assert {i.key: i.ok for i in response.context["health"]}["prometheus"] is False


def test_chart_json_from_query_range(operator_client, shop, make_event, history):
    event = make_event(shop, minutes_ago=30, action="scale-out")
    response = operator_client.get(reverse("autoscaling:service-chart", args=[shop.service_name]), {"hours": 3})
    data = response.json()
    assert response.status_code == 200 and data["error"] == ""
    cpu = [v for _, v in data["series"]["cpu"]]
    assert len(cpu) > 50 and 80 <= max(cpu) <= 100
    mem = [v for _, v in data["series"]["memory"]]
    assert all(30 <= v <= 60 for v in mem)
    counts = [v for _, v in data["series"]["vms"]]
    assert counts[0] == 2 and counts[-1] == 3
    assert data["thresholds"]["scale_out_cpu"] == 80
    assert [e["id"] for e in data["events"]] == [event.pk]
    bad = operator_client.get(reverse("autoscaling:service-chart", args=[shop.service_name]), {"hours": "x"})
    assert bad.status_code == 400
    assert operator_client.get(reverse("autoscaling:service-chart", args=[shop.service_name]),
                               {"hours": 10000}).status_code == 400
