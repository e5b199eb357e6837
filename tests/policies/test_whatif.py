"""What-if on a service's own history, end to end against a real Prometheus whose data dir holds three hours of
node_exporter history backfilled with promtool (with a 15-minute scrape outage), and the pages and the API around
it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation
from django_q.models import OrmQ
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ixnode.integrations.prometheus.client import prometheus_client
from policies import constants
from policies.choices import PolicyType, WhatIfStatus
from policies.models import ScalingPolicy, WhatIfRun
from policies.services import policy_save
from policies.whatif import (
    whatif_history_read,
    whatif_run,
    whatif_run_create,
    whatif_step_seconds,
)
from tests.fixtures.prometheus import free_port

pytest_plugins = ["tests.fixtures.prometheus_history"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def history(prometheus_history_gap, settings, config):
    """The backfilled Prometheus, and the service's job is the one its history is about."""
    settings.IXNODE_PROMETHEUS_URL = prometheus_history_gap.url
    config.prometheus_job_name = prometheus_history_gap.job
    config.save()
    return prometheus_history_gap


@pytest.fixture
def service(config):
    config.min_vms, config.max_vms = 2, 6
    config.save()
    return config


def _run(service, *, days=1, django_capture_on_commit_callbacks=None):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run, created = whatif_run_create(config=service, days=days)
    assert created
    assert len(callbacks) == 1  # enqueued once the transaction commits
    return whatif_run(run_id=run.pk)


def _perm(user, codename: str, app: str = "policies") -> None:
    user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))


def test_step_keeps_every_range_query_within_the_point_cap():
    assert whatif_step_seconds(1) == 60
    assert whatif_step_seconds(7) == 120
    assert whatif_step_seconds(30) == 300
    for days in range(constants.WHATIF_MIN_DAYS, constants.WHATIF_MAX_DAYS + 1):
        step = whatif_step_seconds(days)
        assert step % 60 == 0 and days * 86400 / step <= constants.WHATIF_MAX_POINTS


def test_demand_is_cpu_times_vms_and_gaps_stay_gaps(history, service):
    trace, counts = whatif_history_read(config=service, prometheus=prometheus_client(), end=timezone.now(),
                                        days=1, step=60)
    assert trace.interval == 60 and len(trace.loads) == 1440
    by_time = dict(zip(trace.times, trace.loads, strict=True))
    counts_by_time = dict(zip(trace.times, counts, strict=True))

    def at(minute: float) -> float | None:
        t = (history.start + minute * 60) // 60 * 60
        return by_time.get(t)

    # before the history began: no samples, a gap (not a zero)
    assert at(-60) is None and at(-5) is None
    # the scrape outage: every point whose window holds no sample is a gap; its edges are data
    gap_start, gap_end = history.gap
    inside = [t for t in trace.times if gap_start + 60 <= t < gap_end]
    assert inside and all(by_time[t] is None for t in inside)
    assert at(25) is not None and at(50) is not None
    # the demand is each instance's CPU summed: two instances at ~25 % and ~22.5 % early on
    assert at(20) == pytest.approx(25 + 22.5, abs=2)
    # at the peak, before the scale-out, two VMs carry well over one VM's worth
    peak_before = max(v for t, v in by_time.items() if v is not None and t < history.scale_out_at)
    assert 150 < peak_before < 200
    # after the scale-out a third instance reports: the sum includes it
    assert counts_by_time[(history.scale_out_at + 600) // 60 * 60] == 3
    assert counts_by_time[(history.start + 20 * 60) // 60 * 60] == 2


def test_run_replays_step_and_recommended_for_a_service_without_policy(history, service,
                                                                       django_capture_on_commit_callbacks):
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == WhatIfStatus.SUCCEEDED, run.error
    assert run.progress == 100 and run.started_at and run.finished_at
    result = run.result
    assert result["has_policy"] is False and result["step_seconds"] == 60
    assert [row["key"] for row in result["rows"]] == ["step", "recommended"]
    step, recommended = result["rows"]
    assert step["current"] is True and recommended["current"] is False
    # the replay starts where the history starts (three hours, the outage's 15 minutes and the last
    # moments after the backfill are gaps)
    assert 150 <= result["known_minutes"] <= 181
    assert 14 <= result["gap_minutes"] <= 20
    assert result["initial_vms"] == 2
    for row in result["rows"]:
        # at least the minimum of 2 VMs over ~165 known minutes, at most 6
        assert 2 * 150 / 60 <= row["vm_hours"] <= 6 * 181 / 60
        assert row["overload_minutes"] >= 0 and row["scale_actions"] == row["scale_outs"] + row["scale_ins"]
    # the peak (~170 VM-% on two VMs, ~85 % each) is above the 80 % threshold: the step policy scales out
    assert step["scale_outs"] >= 1 and step["peak_vms"] >= 3
    assert 0 < result["history_vm_hours"] < 3 * 3
    assert bytes(run.plot_png).startswith(b"\x89PNG\r\n\x1a\n")


def test_run_adds_the_current_policy_as_a_row_of_its_own(history, service, django_capture_on_commit_callbacks):
    policy_save(config=service, values={"policy_type": PolicyType.TARGET_TRACKING, "target_utilisation": 50})
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert run.status == WhatIfStatus.SUCCEEDED, run.error
    rows = {row["key"]: row for row in run.result["rows"]}
    assert list(rows) == ["step", "recommended", "current"]
    assert rows["current"]["policy_type"] == "target_tracking" and rows["current"]["current"] is True
    assert "target=50" in rows["current"]["parameters"]
    # a 50 % target keeps more VMs than the seed's 80 % band
    assert rows["current"]["vm_hours"] > rows["step"]["vm_hours"]


def test_recommended_policy_is_marked_on_its_own_row(history, service, django_capture_on_commit_callbacks):
    policy_save(config=service, values={"policy_type": PolicyType.RECOMMENDED})
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    rows = run.result["rows"]
    assert [row["key"] for row in rows] == ["step", "recommended"]
    assert [row["current"] for row in rows] == [False, True]


def test_a_memory_policy_has_no_row_of_a_cpu_replay(history, whatif_client, operator, service,
                                                    django_capture_on_commit_callbacks):
    # Its row would replay the CPU history against the memory threshold: figures that mean nothing.
    policy_save(config=service, values={"policy_type": PolicyType.TARGET_TRACKING, "metric": "memory",
                                        "target_utilisation": 50})
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert run.status == WhatIfStatus.SUCCEEDED, run.error
    assert [row["key"] for row in run.result["rows"]] == ["step", "recommended"]
    assert [row["current"] for row in run.result["rows"]] == [False, False] and run.result["current_on_memory"]
    body = whatif_client.get(reverse("autoscaling:whatif", args=[service.service_name, run.pk])).content.decode()
    assert 'id="whatif-memory-policy"' in body and ">in use<" not in body
    _perm(operator, "change_scalingpolicy")
    body = whatif_client.get(reverse("autoscaling:whatif", args=[service.service_name, run.pk])).content.decode()
    # a switch keeps the memory metric: the recommended row's CPU figures would not describe it; step's rules are
    # the config's whatever the metric
    assert 'data-switch="step"' in body and 'data-switch="recommended"' not in body
    whatif_client.cookies["django_language"] = "ko"
    korean = whatif_client.get(reverse("autoscaling:whatif", args=[service.service_name, run.pk])).content.decode()
    assert "메모리로 스케일링합니다" in korean


def test_prometheus_down_is_a_clear_error_on_the_row(settings, service, django_capture_on_commit_callbacks):
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == WhatIfStatus.FAILED and run.finished_at
    assert run.result["error_code"] == "prometheus"
    assert "unreachable" in run.error and settings.IXNODE_PROMETHEUS_URL in run.error
    assert not run.plot_png


def test_empty_history_is_a_clear_error(history, service, django_capture_on_commit_callbacks):
    service.prometheus_job_name = "a-job-without-history"
    service.save()
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert run.status == WhatIfStatus.FAILED
    assert run.result == {"error_code": "no_history", "error_params": {"job": "a-job-without-history", "days": 1}}
    assert "no CPU history of job a-job-without-history" in run.error


def test_time_limit_stops_the_run(history, service, settings, django_capture_on_commit_callbacks):
    settings.IXNODE_POLICY_WHATIF_TIMEOUT = 0
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert run.status == WhatIfStatus.FAILED and run.result["error_code"] == "timeout"


# --- pages ---------------------------------------------------------------------------------------------------

@pytest.fixture
def whatif_client(client, operator):
    _perm(operator, "add_whatifrun")
    client.force_login(operator)
    return client


def test_pages_need_a_login_and_the_permissions(nobody_client, operator_client, service):
    from django.test import Client

    client = Client()  # anonymous (operator_client is the logged-in ``client``)
    run = WhatIfRun.objects.create(config=service, days=1)
    urls = [reverse("autoscaling:whatif", args=[service.service_name, run.pk]),
            reverse("autoscaling:whatif-progress", args=[service.service_name, run.pk])]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
        assert nobody_client.get(url).status_code == 403
        assert operator_client.get(url).status_code == 200
    start = reverse("autoscaling:whatif-start", args=[service.service_name])
    assert client.post(start, {"days": 7}).status_code == 302
    assert operator_client.post(start, {"days": 7}).status_code == 403  # viewing is not starting
    switch = reverse("autoscaling:whatif-switch", args=[service.service_name, run.pk])
    assert operator_client.post(switch, {"policy_type": "recommended"}).status_code == 403
    assert WhatIfRun.objects.count() == 1 and not ScalingPolicy.objects.exists()
    assert operator_client.get(start).status_code in (403, 405)


def test_start_records_the_run_and_enqueues_its_task(whatif_client, service, django_capture_on_commit_callbacks):
    page = whatif_client.get(reverse("autoscaling:service", args=[service.service_name])).content.decode()
    assert 'id="whatif-form"' in page and "No what-if run yet." in page
    before = OrmQ.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = whatif_client.post(reverse("autoscaling:whatif-start", args=[service.service_name]),
                                      {"days": "3"})
    assert response.status_code == 302
    run = WhatIfRun.objects.get()
    assert response["Location"] == reverse("autoscaling:whatif", args=[service.service_name, run.pk])
    assert run.days == 3 and run.status == WhatIfStatus.PENDING and run.created_by.username == "operator"
    assert run.task_id and OrmQ.objects.count() == before + 1
    task = OrmQ.objects.order_by("-id").first().task
    assert task["func"] == "policies.tasks.whatif_run" and task["args"] == (run.pk,)
    progress = whatif_client.get(reverse("autoscaling:whatif-progress", args=[service.service_name, run.pk])).json()
    assert progress == {"id": run.pk, "status": "pending", "progress": 0, "active": True, "error": "", "rows": []}
    live = whatif_client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in live and 'id="whatif-progress"' in live


def test_a_second_start_while_one_runs_shows_that_run(whatif_client, service, django_capture_on_commit_callbacks):
    start = reverse("autoscaling:whatif-start", args=[service.service_name])
    with django_capture_on_commit_callbacks(execute=True):
        first = whatif_client.post(start, {"days": "3"})
        second = whatif_client.post(start, {"days": "5"}, follow=True)
    run = WhatIfRun.objects.get()  # one run, one task: a double click or a second operator queues nothing more
    assert second.redirect_chain[-1][0] == first["Location"] and run.days == 3
    assert "already under way" in second.content.decode()
    WhatIfRun.objects.filter(pk=run.pk).update(status=WhatIfStatus.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        whatif_client.post(start, {"days": "5"})
    assert WhatIfRun.objects.count() == 2  # once it has finished, a new one starts


def test_a_run_stuck_past_its_limit_does_not_block_a_new_one(service, settings, django_capture_on_commit_callbacks):
    stuck = WhatIfRun.objects.create(config=service, days=1, status=WhatIfStatus.RUNNING,
                                     started_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=False):
        run, created = whatif_run_create(config=service, days=2)
    stuck.refresh_from_db()
    assert created and run.pk != stuck.pk and stuck.status == WhatIfStatus.FAILED


def test_a_service_keeps_its_last_runs_only(service, django_capture_on_commit_callbacks):
    other = WhatIfRun.objects.create(config=service, days=1, status=WhatIfStatus.SUCCEEDED)
    for _ in range(constants.WHATIF_KEEP_RUNS + 2):
        with django_capture_on_commit_callbacks(execute=False):
            run, created = whatif_run_create(config=service, days=1)
        WhatIfRun.objects.filter(pk=run.pk).update(status=WhatIfStatus.SUCCEEDED)
    kept = list(WhatIfRun.objects.filter(config=service).order_by("-id").values_list("pk", flat=True))
    assert len(kept) == constants.WHATIF_KEEP_RUNS and kept[0] == run.pk and other.pk not in kept


@pytest.mark.parametrize("days", ["0", "-1", "abc", "10000", "", "2.5"])
def test_bad_days_are_a_form_error(whatif_client, service, days):
    response = whatif_client.post(reverse("autoscaling:whatif-start", args=[service.service_name]), {"days": days})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="whatif-days-error"' in body
    assert ("Choose between 1 and 30 days." in body) or ("Enter a whole number of days." in body)
    assert not WhatIfRun.objects.exists()


def test_result_page_shows_the_table_the_plot_and_switches_policy(history, whatif_client, operator, service,
                                                                   django_capture_on_commit_callbacks):
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    url = reverse("autoscaling:whatif", args=[service.service_name, run.pk])
    body = whatif_client.get(url).content.decode()
    assert 'id="whatif-table"' in body and 'http-equiv="refresh"' not in body
    assert 'data-key="step"' in body and 'data-key="recommended"' in body
    assert "has no scaling policy of its own" in body
    assert f'{run.result["rows"][0]["overload_minutes"]:.0f}' in body
    # no switch without the policy permission
    assert 'data-switch="recommended"' not in body
    plot = whatif_client.get(reverse("autoscaling:whatif-plot", args=[service.service_name, run.pk]))
    assert plot.status_code == 200 and plot["Content-Type"] == "image/png" and plot.content.startswith(b"\x89PNG")
    service_page = whatif_client.get(reverse("autoscaling:service", args=[service.service_name])).content.decode()
    assert 'id="whatif-table"' in service_page

    _perm(operator, "change_scalingpolicy")
    body = whatif_client.get(url).content.decode()
    assert 'data-switch="recommended"' in body and 'data-switch="step"' not in body  # step is in use
    response = whatif_client.post(reverse("autoscaling:whatif-switch", args=[service.service_name, run.pk]),
                                  {"policy_type": "recommended"})
    assert response.status_code == 302
    policy = ScalingPolicy.objects.get(config=service)
    assert policy.policy_type == PolicyType.RECOMMENDED
    record = policy.history.order_by("-history_date").first()
    assert record.history_user.username == "operator" and record.history_actor == "user"
    assert record.policy_type == "recommended"
    # the service page's change history shows it; the row of the policy in use has no switch now
    page = whatif_client.get(reverse("autoscaling:service", args=[service.service_name])).content.decode()
    assert 'data-field="policy_type"' in page
    body = whatif_client.get(url).content.decode()
    assert 'data-switch="step"' in body and 'data-switch="recommended"' not in body
    # an unknown policy changes nothing
    whatif_client.post(reverse("autoscaling:whatif-switch", args=[service.service_name, run.pk]),
                       {"policy_type": "predictive"})
    policy.refresh_from_db()
    assert policy.policy_type == PolicyType.RECOMMENDED


def test_switch_needs_csrf(history, operator, service):
    from django.test import Client

    run = WhatIfRun.objects.create(config=service, days=1)
    _perm(operator, "change_scalingpolicy")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    response = strict.post(reverse("autoscaling:whatif-switch", args=[service.service_name, run.pk]),
                           {"policy_type": "recommended"})
    assert response.status_code == 403 and not ScalingPolicy.objects.exists()


def test_prometheus_down_is_shown_on_the_page_in_korean(whatif_client, settings, service,
                                                        django_capture_on_commit_callbacks):
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    url = reverse("autoscaling:whatif", args=[service.service_name, run.pk])
    response = whatif_client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="whatif-error"' in body
    assert f"Prometheus at {settings.IXNODE_PROMETHEUS_URL} is not reachable (connection refused)." in body
    korean = whatif_client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "연결할 수 없습니다" in korean


def test_empty_history_message_is_translated(history, whatif_client, service, django_capture_on_commit_callbacks):
    service.prometheus_job_name = "a-job-without-history"
    service.save()
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    url = reverse("autoscaling:whatif", args=[service.service_name, run.pk])
    english = whatif_client.get(url).content.decode()
    assert "Prometheus holds no CPU history of job a-job-without-history in the last 1 days" in english
    with translation.override("ko"):
        korean = whatif_client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "a-job-without-history" in korean and "Prometheus holds no CPU history" not in korean


def test_policy_api_and_admin_write_through_the_policy_service(admin_client, service):
    response = admin_client.put(f"/api/policies/{service.service_name}/",
                                {"policy_type": "target_tracking", "target_utilisation": 55},
                                content_type="application/json")
    assert response.status_code == 201, response.content
    policy = ScalingPolicy.objects.get(config=service)
    assert policy.history.count() == 1 and policy.history.first().history_actor == "user"
    bad = admin_client.patch(f"/api/policies/{service.service_name}/", {"scale_in_target_utilisation": 70},
                             content_type="application/json")
    assert bad.status_code == 400 and "scale_in_target_utilisation" in bad.json()
    change = reverse("admin:policies_scalingpolicy_change", args=[policy.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and not isinstance(value, list)}
    data.update({"config": service.pk, "policy_type": "recommended", "scheduled_actions-TOTAL_FORMS": 0,
                 "scheduled_actions-INITIAL_FORMS": 0, "scheduled_actions-MIN_NUM_FORMS": 0,
                 "scheduled_actions-MAX_NUM_FORMS": 1000})
    for name in ("flapping_check", "recheck_alert_at_cooldown_end", "forecast_only", "dry_run", "suspend_scale_out",
                 "suspend_scale_in", "suspend_scheduled", "suspend_predictive"):
        if not data.get(name):
            data.pop(name, None)
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    policy.refresh_from_db()
    assert policy.policy_type == "recommended"
    assert policy.history.count() == 2
    assert admin_client.get(reverse("admin:policies_scalingpolicy_history", args=[policy.pk])).status_code == 200


def test_a_step_policy_row_replays_with_its_recheck_and_offers_only_the_other_policy(
        history, whatif_client, operator, service, django_capture_on_commit_callbacks):
    policy_save(config=service, values={"policy_type": PolicyType.STEP})  # re-check at cooldown end: on by default
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    rows = {row["key"]: row for row in run.result["rows"]}
    assert list(rows) == ["step", "recommended", "current"]
    assert rows["current"]["simulated_as"] == "step+recheck" and "re-check at cooldown end" in rows["current"][
        "parameters"]
    _perm(operator, "change_scalingpolicy")
    body = whatif_client.get(reverse("autoscaling:whatif", args=[service.service_name, run.pk])).content.decode()
    assert 'data-switch="recommended"' in body and 'data-switch="step"' not in body  # step is what it has
    assert body.count(">in use<") == 1 and "has no scaling policy of its own" not in body
    assert "re-check at cooldown end" in body
    # the parameter line in the reader's language; stored in English whatever the page's
    whatif_client.cookies["django_language"] = "ko"
    korean = whatif_client.get(reverse("autoscaling:whatif", args=[service.service_name, run.pk])).content.decode()
    assert "쿨다운 종료 시 재확인" in korean and "re-check at cooldown end" not in korean
    assert "스케일 아웃 &gt; 80 %" in korean or "스케일 아웃 > 80 %" in korean


def test_parameter_lines_are_stored_in_english_and_shown_in_the_readers_language():
    from django.utils import translation

    from policies.simulator.catalog import parse_policy
    from policies.simulator.engine import SimConfig
    from policies.whatif import whatif_row_parameters

    config = SimConfig()
    step = parse_policy("step+recheck").describe_parts(config)
    tuned = parse_policy("target_tracking:target=50,warm_pool=2").describe_parts(config)
    with translation.override("ko"):
        assert "재확인" in whatif_row_parameters(row={"parameters_parts": step, "parameters": "ignored"})
        shown = whatif_row_parameters(row={"parameters_parts": [list(part) for part in tuned]})  # as JSON gives it
        assert "target=50" in shown and "웜 풀 2" in shown
        assert whatif_row_parameters(row={"parameters": "stored before the parts"}) == "stored before the parts"
        # a malformed stored part never breaks the page: the English line is shown
        assert whatif_row_parameters(row={"parameters_parts": [["%(missing)s", {}]], "parameters": "en"}) == "en"
        assert whatif_row_parameters(row={"parameters_parts": [["x"]], "parameters": "en"}) == "en"
        assert "re-check" in parse_policy("step+recheck").describe(config)  # the simulator's own output: English
    with translation.override("en"):
        assert whatif_row_parameters(row={"parameters_parts": step}).endswith("+ re-check at cooldown end")


def test_a_run_stopped_from_outside_is_failed_after_its_time_limit(operator_client, service, settings):
    from datetime import timedelta

    settings.IXNODE_POLICY_WHATIF_TIMEOUT = 60
    run = WhatIfRun.objects.create(config=service, days=1, status=WhatIfStatus.RUNNING, progress=20,
                                   started_at=timezone.now() - timedelta(seconds=149))
    url = reverse("autoscaling:whatif-progress", args=[service.service_name, run.pk])
    assert operator_client.get(url).json()["status"] == "running"  # within the limit and its grace
    WhatIfRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(seconds=151))
    progress = operator_client.get(url).json()
    assert progress["status"] == "failed" and progress["active"] is False
    assert progress["error"].startswith("The replay took longer than 60 s")
    pending = WhatIfRun.objects.create(config=service, days=1)
    body = operator_client.get(reverse("autoscaling:whatif", args=[service.service_name, pending.pk])).content
    assert b'id="whatif-waiting"' in body


# --- API: /api/policies/<serviceName>/whatif-runs/ -----------------------------------------------------------------

def _api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _runs_url(service) -> str:
    return f"/api/policies/{service.service_name}/whatif-runs/"


@pytest.fixture
def whatif_api(operator):
    """The page tests' operator (views configs) who may start what-if runs, by token."""
    _perm(operator, "add_whatifrun")
    return _api(operator)


def test_api_start_records_the_run_and_enqueues_its_task(whatif_api, service, django_capture_on_commit_callbacks):
    before = OrmQ.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = whatif_api.post(_runs_url(service), {"days": 3}, format="json")
    assert response.status_code == 202, response.content
    run = WhatIfRun.objects.get()
    body = response.json()
    assert response["Location"] == body["url"] == f"http://testserver{_runs_url(service)}{run.pk}/"
    assert body["id"] == run.pk and body["created"] is True and body["note"] == ""
    assert body["status"] == "pending" and body["active"] is True and body["progress"] == 0
    assert body["days"] == 3 and body["stepSeconds"] == 60 and body["serviceName"] == service.service_name
    assert body["createdBy"] == "operator" and body["result"] is None and body["plotUrl"] is None
    assert body["startedAt"] is None and body["finishedAt"] is None and body["createdAt"]
    assert body["error"] == "" and body["errorCode"] == "" and body["errorText"] == ""
    # the same service call as the page: one run, its task queued once the transaction commits
    assert run.days == 3 and run.created_by.username == "operator" and run.task_id
    assert OrmQ.objects.count() == before + 1
    task = OrmQ.objects.order_by("-id").first().task
    assert task["func"] == "policies.tasks.whatif_run" and task["args"] == (run.pk,)
    assert whatif_api.get(body["url"]).json() == {k: v for k, v in body.items() if k not in ("created", "note")}


def test_api_a_second_start_while_one_runs_answers_that_run(whatif_api, service, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = whatif_api.post(_runs_url(service), {"days": 3}, format="json").json()
        second = whatif_api.post(_runs_url(service), {"days": 5}, format="json")
        korean = whatif_api.post(_runs_url(service), {"days": 5}, format="json", HTTP_ACCEPT_LANGUAGE="ko")
    assert second.status_code == 200 and "Location" not in second
    assert second.json()["id"] == first["id"] and second.json()["days"] == 3 and second.json()["created"] is False
    assert "already under way" in second.json()["note"]
    assert "이미 진행 중" in korean.json()["note"]
    assert WhatIfRun.objects.count() == 1
    WhatIfRun.objects.filter(pk=first["id"]).update(status=WhatIfStatus.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        third = whatif_api.post(_runs_url(service), {"days": "5"}, format="json")
    assert third.status_code == 202 and third.json()["days"] == 5 and WhatIfRun.objects.count() == 2
    listed = whatif_api.get(_runs_url(service)).json()
    assert listed["count"] == 2 and [r["id"] for r in listed["results"]] == [third.json()["id"], first["id"]]


@pytest.mark.parametrize("body", [
    {"days": 0}, {"days": -1}, {"days": 31}, {"days": 10**30}, {"days": "abc"}, {"days": ""}, {"days": "2.5"},
    {"days": 2.5}, {"days": 7.0}, {"days": True}, {"days": None}, {"days": {"days": 7}}, {"days": [7]},
    {"days": "\x00"}, {"days": "7\x07"}, {"days": "9" * 100_000}, {"days": "٧" * 5000}, {}, {"day": 7},
])
def test_api_bad_days_are_field_errors(whatif_api, service, body):
    response = whatif_api.post(_runs_url(service), body, format="json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    errors = response.json()["days"]
    assert isinstance(errors, list) and len(errors) == 1
    assert errors[0] in ("Choose between 1 and 30 days.", "Enter a whole number of days.", "This field is required.",
                         "This field may not be null.")
    assert not WhatIfRun.objects.exists()


def test_api_bad_bodies_are_400_never_500(whatif_api, service):
    for raw in ("[7]", '"7"', "7", "null", '{"days": 7', "\x00", '{"days": NaN}', '{"days": 1e999}'):
        response = whatif_api.post(_runs_url(service), raw, content_type="application/json")
        assert response.status_code == 400, (raw, response.status_code, response.content[:200])
        assert response.json()
    assert whatif_api.post(_runs_url(service), "days=7", content_type="application/x-www-form-urlencoded"
                           ).status_code == 415
    korean = whatif_api.post(_runs_url(service), {"days": 0}, format="json", HTTP_ACCEPT_LANGUAGE="ko")
    assert korean.json() == {"days": ["1~30일 사이로 고르세요."]}
    assert not WhatIfRun.objects.exists()


def test_api_needs_a_credential_and_the_pages_permissions(django_user_model, operator, service):
    run = WhatIfRun.objects.create(config=service, days=1)
    reads = [_runs_url(service), f"{_runs_url(service)}{run.pk}/", f"{_runs_url(service)}{run.pk}/plot"]
    anonymous = _api()
    for url in reads:
        assert anonymous.get(url).status_code == 401, url
    assert anonymous.post(_runs_url(service), {"days": 1}, format="json").status_code == 401
    nobody = _api(django_user_model.objects.create_user("nobody-api", password="nobody-pass-123"))
    for url in reads:
        response = nobody.get(url)
        assert response.status_code == 403 and response.json()["detail"], url
    viewer = _api(operator)  # views configs: reads what-if runs, starts none
    assert viewer.get(reads[0]).status_code == 200 and viewer.get(reads[1]).status_code == 200
    assert viewer.post(_runs_url(service), {"days": 1}, format="json").status_code == 403
    starter = django_user_model.objects.create_user("starter", password="starter-pass-123")
    _perm(starter, "add_whatifrun")  # starting without viewing configs: the page refuses it too
    assert _api(starter).post(_runs_url(service), {"days": 1}, format="json").status_code == 403
    assert WhatIfRun.objects.count() == 1


def test_api_unknown_service_run_and_method(whatif_api, service, make_config):
    run = WhatIfRun.objects.create(config=service, days=1)
    other = make_config("other-web")
    for url in ("/api/policies/no-such-service/whatif-runs/", f"/api/policies/no-such-service/whatif-runs/{run.pk}/",
                f"{_runs_url(service)}{run.pk + 1}/", f"{_runs_url(other)}{run.pk}/",  # another service's run
                f"{_runs_url(other)}{run.pk}/plot", f"{_runs_url(service)}{10**30}/",
                f"{_runs_url(service)}{2**63}/plot"):
        response = whatif_api.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", url
        assert response.json()["detail"]
    assert whatif_api.post("/api/policies/no-such-service/whatif-runs/", {"days": 1}, format="json"
                           ).status_code == 404
    assert whatif_api.put(_runs_url(service), {"days": 1}, format="json").status_code == 405
    assert whatif_api.delete(_runs_url(service)).status_code == 405
    assert whatif_api.post(f"{_runs_url(service)}{run.pk}/", {"days": 1}, format="json").status_code == 405
    assert whatif_api.delete(f"{_runs_url(service)}{run.pk}/").status_code == 405
    assert whatif_api.post(f"{_runs_url(service)}{run.pk}/plot").status_code == 405
    assert WhatIfRun.objects.count() == 1
    # no plot before the run has succeeded: a JSON 404 that says so, also for a client asking for the image only
    for accept in ("application/json", "image/png", "*/*"):
        response = whatif_api.get(f"{_runs_url(service)}{run.pk}/plot", HTTP_ACCEPT=accept)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", accept
        assert response.json()["code"] == "no_plot" and "has no plot" in response.json()["detail"]
    korean = whatif_api.get(f"{_runs_url(service)}{run.pk}/plot", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert "has no plot" not in korean["detail"] and f"{run.pk}" in korean["detail"]


def test_api_end_to_end_start_follow_result_plot_and_switch(history, whatif_api, operator, service,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = whatif_api.post(_runs_url(service), {"days": 1}, format="json")
    assert started.status_code == 202 and len(callbacks) == 1
    whatif_run(run_id=started.json()["id"])  # what the queued task runs
    response = whatif_api.get(started["Location"])
    assert response.status_code == 200
    body = response.json()
    run = WhatIfRun.objects.get()
    assert body["status"] == "succeeded" and body["progress"] == 100 and body["active"] is False
    assert body["startedAt"] and body["finishedAt"] and body["errorCode"] == "" and body["errorText"] == ""
    result = body["result"]
    assert result["stepSeconds"] == 60 and result["points"] == run.result["points"]
    assert result["gapMinutes"] == run.result["gap_minutes"] and result["initialVms"] == 2
    assert result["hasPolicy"] is False and result["currentPolicyType"] == "step" and not result["currentOnMemory"]
    assert result["historyStart"] < result["historyEnd"] and result["historyVmHours"] > 0
    rows = {row["key"]: row for row in result["rows"]}
    assert list(rows) == ["step", "recommended"]
    for row, stored in zip(result["rows"], run.result["rows"], strict=True):
        assert row["overloadMinutes"] == stored["overload_minutes"] and row["vmHours"] == stored["vm_hours"]
        assert row["flaps"] == stored["flaps"] and row["scaleActions"] == stored["scale_actions"]
        assert row["peakVms"] == stored["peak_vms"] and row["parameters"] == stored["parameters"]
        assert row["parametersText"] == stored["parameters"]  # English reader: the same line
    assert rows["step"]["label"] == "Step (the seed)" and rows["step"]["inUse"] and not rows["step"]["switchable"]
    assert rows["recommended"]["switchable"] and not rows["recommended"]["inUse"]
    assert rows["step"]["scaleOuts"] >= 1 and rows["step"]["peakVms"] >= 3
    plot = whatif_api.get(body["plotUrl"])
    assert plot.status_code == 200 and plot["Content-Type"] == "image/png"
    assert plot.content.startswith(b"\x89PNG\r\n\x1a\n") and plot.content == bytes(run.plot_png)
    assert whatif_api.get(body["plotUrl"], HTTP_ACCEPT="image/png").status_code == 200
    # in Korean: the names and parameter lines translated, the stored English line unchanged
    korean = whatif_api.get(started["Location"], HTTP_ACCEPT_LANGUAGE="ko").json()["result"]["rows"]
    assert korean[0]["parameters"] == rows["step"]["parameters"] and korean[0]["parametersText"] != korean[0][
        "parameters"] and korean[0]["label"] != "Step (the seed)"
    # switching is the policy API's (documented in docs/api.md): the run's rows follow the policy now in use
    _perm(operator, "change_scalingpolicy")
    switched = whatif_api.put(f"/api/policies/{service.service_name}/", {"policy_type": "recommended"},
                              format="json")
    assert switched.status_code == 201, switched.content
    rows = {row["key"]: row for row in whatif_api.get(started["Location"]).json()["result"]["rows"]}
    assert rows["recommended"]["inUse"] and not rows["recommended"]["switchable"] and rows["step"]["switchable"]


def test_api_a_failed_run_says_why(settings, whatif_api, service, django_capture_on_commit_callbacks):
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    run = _run(service, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    body = whatif_api.get(f"{_runs_url(service)}{run.pk}/").json()
    assert body["status"] == "failed" and body["result"] is None and body["plotUrl"] is None
    assert body["errorCode"] == "prometheus" and settings.IXNODE_PROMETHEUS_URL in body["error"]
    assert body["errorText"] == f"Prometheus at {settings.IXNODE_PROMETHEUS_URL} is not reachable (connection refused)."
    korean = whatif_api.get(f"{_runs_url(service)}{run.pk}/", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert "연결할 수 없습니다" in korean["errorText"] and korean["error"] == body["error"]
    assert whatif_api.get(f"{_runs_url(service)}{run.pk}/plot").json()["code"] == "no_plot"


def test_api_a_run_stopped_from_outside_is_failed_after_its_time_limit(operator, service, settings):
    settings.IXNODE_POLICY_WHATIF_TIMEOUT = 60
    run = WhatIfRun.objects.create(config=service, days=1, status=WhatIfStatus.RUNNING, progress=20,
                                   started_at=timezone.now() - timedelta(seconds=151))
    listed = _api(operator).get(_runs_url(service)).json()["results"]
    assert listed[0]["id"] == run.pk and listed[0]["status"] == "failed" and listed[0]["errorCode"] == "timeout"
    assert listed[0]["error"].startswith("The replay took longer than 60 s")
