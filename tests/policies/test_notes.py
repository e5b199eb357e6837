"""A policy evaluation's reason as codes and parameters (policies.engine.notes): the English text stays what the
API, the simulator and searches read; the service page, the event page and the admin show it in the reader's
language; rows stored before (no parts) show their text, and parts that cannot be read any more their English text."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from events.choices import Trigger
from events.reasons import REASONS, Reason, parts_display, reason_parts
from policies import services
from policies.engine.evaluate import PolicyInput, PolicySettings, evaluate_policy, recommended_settings
from policies.engine.notes import NOTES
from policies.engine.target_tracking import VMUtilisation
from policies.models import ScalingPolicy, ScheduledAction
from tests.fixtures.catalogue import english_strings, untranslated

pytest_plugins = ["tests.fixtures.prometheus"]

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[-+ #0]*\d*(?:\.\d+)?([sdfg])")


def _inp(*, current: int = 2, utilisation: float = 90.0, **kw) -> PolicyInput:
    values = {"now": NOW, "enabled": True, "min_vms": 1, "max_vms": 10, "cooldown_seconds": 300,
              "current_vm_count": current, "vms": [VMUtilisation(utilisation)] * (current or 0), **kw}
    return PolicyInput(**values)


TRACKING = PolicySettings(policy_type="target_tracking", target=60, stabilisation_seconds=0)
RECOMMENDED = recommended_settings(scale_out_threshold=80.0, confirm_seconds=0)


def _korean(parts: dict) -> str:
    with translation.override("ko"):
        return parts_display(parts)


def _english_left(text: str) -> list[tuple[str, str]]:
    return untranslated([text], english_strings())


def test_every_note_has_its_korean_with_the_same_placeholders():
    samples: dict[str, object] = {"d": 3, "f": 42.5, "g": 80.0, "s": "lunch@2026-03-02"}
    for code, spec in NOTES.items():
        assert REASONS[code] is spec  # registered beside the decision reasons
        params = {name: samples[kind] for name, kind in PLACEHOLDER.findall(spec.text)}
        with translation.override("ko"):
            korean = gettext(spec.text)
        assert korean != spec.text, f"{code}: no Korean in the catalogue"
        assert sorted(PLACEHOLDER.findall(korean)) == sorted(PLACEHOLDER.findall(spec.text)), code
        shown = _korean(reason_parts(Reason(code, **params)))
        assert HANGUL.search(shown) and not _english_left(shown), (code, shown)


def test_the_english_text_is_what_the_evaluation_always_said():
    out = evaluate_policy(TRACKING, _inp())
    assert out.reason == "Adding 1 VM(s): 2 → 3 (maximum 10). Policy: utilisation 90.0% vs target 60% → 3 VMs."
    assert isinstance(out.reason, Reason) and out.reason.code == "policy_decided"
    flapping = evaluate_policy(replace_settings(TRACKING, scale_out_threshold=30), _inp(current=4, utilisation=25))
    assert flapping.reason == ("No scale-in: 2 VMs would run at 50%, above the scale-out threshold 30% "
                               "(flapping check).")
    suspended = evaluate_policy(replace_settings(TRACKING, suspend_scale_out=True), _inp())
    assert suspended.reason == "Scale-out suspended by the operator (utilisation 90.0% vs target 60% → 3 VMs)."
    assert evaluate_policy(TRACKING, _inp(utilisation=60)).reason == \
        "No change: utilisation 60.0% vs target 60% → 2 VMs."
    assert evaluate_policy(PolicySettings(), _inp()).reason == "No change: 2 VMs."
    mismatch = Reason("count_mismatch", seen=2, job="j", registered=3)
    unknown = evaluate_policy(TRACKING, _inp(current=None, vms=None, count_error=mismatch))
    assert unknown.reason == ("No action: the current VM count is unknown: The VM count is not known: Prometheus "
                              "lists 2 targets for job j but 3 are registered for the service; waiting for "
                              "Prometheus to catch up.")  # one full stop: the nested sentence's is dropped
    parts = reason_parts(unknown.reason)
    for language in ("en", "ko"):
        with translation.override(language):
            shown = parts_display(parts, text=str(unknown.reason))
        assert shown.endswith(".") and not shown.endswith(".."), shown
    assert evaluate_policy(TRACKING, _inp(vms=None)).reason == \
        "No action: utilisation unknown (no VM past its warm-up)."


def replace_settings(settings: PolicySettings, **changes) -> PolicySettings:
    from dataclasses import replace

    return replace(settings, **changes)


def test_parameters_are_values_formatted_when_shown():
    out = evaluate_policy(TRACKING, _inp(utilisation=89.96))
    parts = reason_parts(out.reason)
    assert parts["params"]["decision"] == {"code": "adding", "params": {"moved": 1, "count": 2, "after": 3,
                                                                        "max": 10}}
    assert parts["params"]["notes"] == [{"code": "tt_utilisation",
                                         "params": {"metric": 89.96, "target": 60, "count": 3}}]
    assert _korean(parts) == "VM 1대 추가: 2 → 3 (최대 10). 정책: 사용률 90.0% (목표 60%) → VM 3대."
    # the recommended policy's share of readings: a number (of percent), not "3%"
    history = [(NOW.timestamp() - 60 * i, 150, 150) for i in range(60, 0, -1)]
    margin = evaluate_policy(RECOMMENDED, _inp(current=2, utilisation=74, history=history))
    no_margin = [n for n in reason_parts(margin.reason)["params"].get("notes", []) if n["code"] == "rec_no_margin"]
    assert no_margin and isinstance(no_margin[0]["params"]["share"], float)
    assert "no scale-out margin: 0% of the fresh readings" in margin.reason
    assert "스케일아웃 여유 없음: 최근 60분의 최신 측정값 중 0%만이" in _korean(reason_parts(margin.reason))


def test_the_recommended_policys_notes_in_korean():
    scale_out = evaluate_policy(RECOMMENDED, _inp(current=2, utilisation=90))
    assert "above the scale-out trigger 70% → 3 VMs at the target 70%" in scale_out.reason
    shown = _korean(reason_parts(scale_out.reason))
    assert shown == ("VM 1대 추가: 2 → 3 (최대 10). 정책: 사용률 현재 90.0%, 창 기준 90.0%로 "
                     "스케일아웃 트리거 70% 초과 → 목표 70%에서 VM 3대.")
    hold = evaluate_policy(RECOMMENDED, _inp(current=2, utilisation=50,
                                             history=[(NOW.timestamp() - 60, 100, 100)]))
    assert "inside the band" in hold.reason
    shown = _korean(reason_parts(hold.reason))
    assert shown.startswith("변경 없음: 사용률 50.0%는 대역 안") and not _english_left(shown)


def _policy(config, outcome, **fields) -> ScalingPolicy:
    return ScalingPolicy.objects.create(config=config, policy_type=fields.pop("policy_type", "target_tracking"),
                                        last_evaluated_at=NOW, last_evaluation=outcome.reason,
                                        last_evaluation_parts=reason_parts(outcome.reason), **fields)


def _service_page(client, config, language: str) -> str:
    response = client.get(reverse("autoscaling:service", args=[config.service_name]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_service_page_shows_the_flapping_check_in_the_readers_language(operator_client, config):
    outcome = evaluate_policy(replace_settings(TRACKING, scale_out_threshold=30), _inp(current=4, utilisation=25))
    _policy(config, outcome)
    korean = _service_page(operator_client, config, "ko")
    assert "스케일인 안 함: VM 2대로는 사용률이 50%가 되어 스케일아웃 임계값 30%를 넘습니다 (플래핑 점검)." in korean
    assert "목표 추적" in korean and "flapping check" not in korean
    english = _service_page(operator_client, config, "en")
    assert "No scale-in: 2 VMs would run at 50%, above the scale-out threshold 30% (flapping check)." in english
    assert 'id="policy-last-evaluation"' in english and "2026-03-02 12:00:00" in english


@pytest.mark.django_db
def test_the_service_page_shows_a_suspension_in_korean(operator_client, config):
    outcome = evaluate_policy(replace_settings(RECOMMENDED, suspend_scale_out=True), _inp(current=2, utilisation=90))
    _policy(config, outcome, policy_type="recommended", suspend_scale_out=True)
    korean = _service_page(operator_client, config, "ko")
    assert "운영자가 스케일아웃을 일시 중지했습니다 (사용률 현재 90.0%, 창 기준 90.0%로 스케일아웃 트리거 70% " \
           "초과" in korean
    assert "suspended by the operator" not in korean


@pytest.mark.django_db
def test_rows_stored_before_show_their_text_and_unreadable_parts_their_english(operator_client, config):
    policy = ScalingPolicy.objects.create(config=config, policy_type="target_tracking", last_evaluated_at=NOW,
                                          last_evaluation="No change: utilisation 45.0% vs target 60% → 2 VMs.")
    assert "No change: utilisation 45.0% vs target 60% → 2 VMs." in _service_page(operator_client, config, "ko")
    english = "No scale-in: 2 VMs would run at 50%, above the scale-out threshold 30% (flapping check)."
    for broken in ({"code": "policy_flapping", "params": {"remaining": "two"}}, {"code": 5}, ["policy_flapping"],
                   {"code": "policy_flapping", "params": [1, 2]}, {"code": "gone_in_a_later_version", "params": {}},
                   {"code": "policy_decided", "params": {"decision": {"code": "adding", "params": [1]},
                                                         "notes": [{"code": "tt_utilisation", "params": "x"}]}}):
        ScalingPolicy.objects.filter(pk=policy.pk).update(last_evaluation=english, last_evaluation_parts=broken)
        assert english in _service_page(operator_client, config, "ko"), broken
    # no policy: the seed's step scaling, never evaluated
    ScalingPolicy.objects.filter(pk=policy.pk).delete()
    body = _service_page(operator_client, config, "en")
    assert "Step (seed: alert-driven, fixed step, cooldown)" in body and 'id="policy-last-evaluation"' not in body


@pytest.mark.django_db
def test_the_event_page_shows_the_policys_reasoning_translated_and_whole(operator_client, config, make_event,
                                                                          admin_client):
    history = [(NOW.timestamp() - 60 * i, 150, 150) for i in range(60, 0, -1)]  # an hour's memory: the margin notes
    outcome = evaluate_policy(RECOMMENDED, _inp(current=2, utilisation=90, history=history))
    event = make_event(config, trigger=Trigger.POLICY, triggered_by="recommended policy",
                       trigger_parts=reason_parts(outcome.reason, with_text=True))
    url = reverse("events:detail", args=[event.pk])
    korean = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    detail = re.search(r'<dd id="event-trigger-detail">(.*?)</dd>', korean).group(1)
    assert detail.startswith("VM 1대 추가: 2 → 3 (최대 10). 정책: 스케일아웃 여유 5포인트 (최근 60분 동안 "
                             "최신 측정값의 변동")
    assert "스케일아웃 여유 없음: 최근 60분의 최신 측정값 중 2%만이" in detail
    assert detail.endswith("사용률 현재 90.0%, 창 기준 90.0%로 스케일아웃 트리거 80% 초과 → 목표 70%에서 VM 3대.")
    assert not _english_left(html.unescape(detail))
    assert "<dd>권장 정책</dd>" in korean  # triggered by: the loop's label translated
    english = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<dd>recommended policy</dd>" in english
    assert escape(str(outcome.reason)) in english and len(str(outcome.reason)) > 150  # untruncated
    # the target tracking note
    tracking = evaluate_policy(TRACKING, _inp())
    other = make_event(config, trigger=Trigger.POLICY, triggered_by="target_tracking policy",
                       trigger_parts=reason_parts(tracking.reason, with_text=True))
    korean = operator_client.get(reverse("events:detail", args=[other.pk]), HTTP_ACCEPT_LANGUAGE="ko")
    assert "정책: 사용률 90.0% (목표 60%) → VM 3대." in korean.content.decode()
    # the admin shows it translated as well; the API gives the English text
    admin = admin_client.get(reverse("admin:events_scaleevent_change", args=[other.pk]), HTTP_ACCEPT_LANGUAGE="ko")
    assert "정책: 사용률 90.0% (목표 60%) → VM 3대." in admin.content.decode()
    api = admin_client.get("/api/events/", {"service": config.service_name}).json()
    rows = api["results"] if isinstance(api, dict) else api
    assert {row["triggerDetail"] for row in rows} == {str(outcome.reason), str(tracking.reason)}


@pytest.mark.django_db
def test_an_event_without_parts_or_with_broken_ones(operator_client, config, make_event):
    plain = make_event(config, trigger=Trigger.POLICY, triggered_by="target_tracking policy: No change")
    body = operator_client.get(reverse("events:detail", args=[plain.pk]), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "target_tracking policy: No change" in body and 'id="event-trigger-detail"' not in body
    broken = make_event(config, trigger=Trigger.POLICY, triggered_by="recommended policy",
                        trigger_parts={"code": "rec_out", "params": {"fresh": "hot"}, "text": "the English text"})
    body = operator_client.get(reverse("events:detail", args=[broken.pk]), HTTP_ACCEPT_LANGUAGE="ko")
    assert body.status_code == 200 and "the English text" in body.content.decode()


@pytest.mark.django_db
def test_the_admin_shows_the_last_evaluation_translated(admin_client, config):
    outcome = evaluate_policy(replace_settings(TRACKING, scale_out_threshold=30), _inp(current=4, utilisation=25))
    policy = _policy(config, outcome)
    body = admin_client.get(reverse("admin:policies_scalingpolicy_change", args=[policy.pk]),
                            HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "스케일인 안 함: VM 2대로는 사용률이 50%가 되어" in body


@pytest.fixture
def service(config, prometheus_server, prometheus_url):
    prometheus_server.ensure_counts([2])
    config.prometheus_job_name = prometheus_server.job_with_count(2)
    config.save(update_fields=["prometheus_job_name"])
    return config


@pytest.mark.slow
def test_the_evaluation_loop_stores_the_parts_and_a_short_label(service, admin_client):
    policy = ScalingPolicy.objects.create(config=service, policy_type="step", time_zone="UTC")
    ScheduledAction.objects.create(policy=policy, name="lunch", weekdays="mon", start_time=time(11),
                                   end_time=time(13), min_vms=3, max_vms=6, desired_vms=4)
    outcome, event = services.policy_evaluate(config=service, now=NOW + timedelta(minutes=1))
    assert event is not None and event.triggered_by == "step policy"
    assert event.trigger_parts["code"] == "policy_decided" and event.trigger_parts["text"] == str(outcome.reason)
    assert "scheduled action lunch@2026-03-02 sets 4 VMs" in event.trigger_detail
    with translation.override("ko"):
        assert "예약 작업 lunch@2026-03-02: VM 4대로 설정" in event.trigger_detail_shown
    policy.refresh_from_db()
    assert policy.last_evaluation == str(outcome.reason)
    assert policy.last_evaluation_parts == reason_parts(outcome.reason)


@pytest.mark.django_db
def test_triggered_by_translates_the_products_labels_only(config, make_event):
    from policies.services import FORECAST_ONLY_TRIGGER_LABEL, POLICY_TRIGGER_LABELS, RECHECK_TRIGGER_LABEL

    for label in (*POLICY_TRIGGER_LABELS.values(), FORECAST_ONLY_TRIGGER_LABEL, RECHECK_TRIGGER_LABEL):
        event = make_event(config, trigger=Trigger.POLICY, triggered_by=label)
        with translation.override("ko"):
            assert event.triggered_by_shown != label and not _english_left(event.triggered_by_shown), label
        with translation.override("en"):
            assert event.triggered_by_shown == label
    # an operator's name is a name, whatever the catalogue holds
    manual = make_event(config, trigger=Trigger.MANUAL, triggered_by="Scaling policy")
    with translation.override("ko"):
        assert manual.triggered_by_shown == "Scaling policy"
