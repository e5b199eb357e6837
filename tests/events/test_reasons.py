"""Reasons as code + parameters (events.reasons): the English sentence stays what the API, CSV and searches read,
the pages show it in the reader's language — also a nested integration error — and rows without a code show their
stored text (translated when it is one of the product's sentences)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from autoscaling.decision import DecisionInput, decide
from autoscaling.services.decisions import DecisionTrigger, scale_decision_record
from events.choices import Decision, ScaleAction
from events.reasons import (
    REASONS,
    STAGE_FAILED,
    Reason,
    ReasonSpec,
    parts_display,
    reason_display,
    reason_fields,
    reason_parts,
    reasons_register,
)
from events.views.selectors import event_error_display
from ixnode.integrations.f5.client import f5_client
from ixnode.integrations.f5.interface import F5ConfigurationError

pytest_plugins = ["tests.fixtures.prometheus"]

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
REFUSED = ("Prometheus at http://127.0.0.1:9 is unreachable: NewConnectionError: HTTPConnection(host='127.0.0.1', "
           "port=9): Failed to establish a new connection: [Errno 111] Connection refused (check "
           "IXNODE_PROMETHEUS_URL and "
           "that Prometheus is running).")


def inputs(**overrides) -> DecisionInput:
    values = {"action": ScaleAction.SCALE_OUT, "now": NOW, "enabled": True, "min_vms": 2, "max_vms": 4, "step": 1,
                  "cooldown_seconds": 300, "current_vm_count": 2}
    values.update(overrides)
    return DecisionInput(**values)


def test_the_english_sentences_are_those_the_api_always_gave():
    assert decide(inputs()).reason == "Adding 1 VM(s): 2 → 3 (maximum 4)."
    assert decide(inputs(current_vm_count=4)).reason == \
        "4 VMs is at or above the maximum of 4; scale-out cooldown started."
    cooling = decide(inputs(last_scale_out_at=NOW - dt.timedelta(seconds=100)))
    assert cooling.reason == "Scale-out is in cooldown for another 200 s."
    assert decide(inputs(current_vm_count=None, count_error="boom")).reason == \
        "The current VM count could not be read from Prometheus: boom."
    assert decide(inputs(free_ips=1, step=2)).reason == \
        "Adding 1 of 2 VMs: only 1 free addresses in the IP pool (2 → 3, maximum 4)."
    assert decide(inputs(action=ScaleAction.SCALE_IN, current_vm_count=3)).reason == \
        "Removing 1 VM(s): 3 → 2 (minimum 2)."


def test_every_reason_of_the_engine_carries_its_code():
    cases = [inputs(enabled=False), inputs(run_in_flight=True), inputs(current_vm_count=None),
             inputs(current_vm_count=None, count_error=REFUSED), inputs(current_vm_count=4),
             inputs(last_scale_out_at=NOW), inputs(free_ips=0), inputs(free_ips=1, step=2), inputs(),
             inputs(action=ScaleAction.SCALE_IN), inputs(action=ScaleAction.SCALE_IN, current_vm_count=3),
             inputs(action=ScaleAction.SCALE_IN, current_vm_count=3, last_scale_in_at=NOW),
             inputs(suspended_reason=Reason("suspended_out"))]
    codes = set()
    for case in cases:
        reason = decide(case).reason
        assert isinstance(reason, Reason), case
        spec = REASONS[reason.code]
        # a sentence put inside the reason (an integration's error) loses its own full stop: one at the end
        params = {k: v.rstrip(".") if k in spec.explain and isinstance(v, str) else v for k, v in reason.params.items()}
        assert str(reason) == (spec.text % params if params else spec.text)
        assert not str(reason).endswith("..")
        codes.add(reason.code)
    assert codes == {"config_disabled", "in_flight", "count_unknown", "count_unknown_error", "at_max", "cooldown_out",
                     "ip_pool_empty", "adding_partial", "adding", "at_min", "removing", "cooldown_in", "suspended_out"}


def test_shown_in_korean_with_the_integration_error_explained():
    reason = Reason("count_unknown_error", error=REFUSED)
    fields = reason_fields(reason)
    assert fields["reason"].startswith("The current VM count could not be read from Prometheus: Prometheus at")
    assert fields["reason_code"] == "count_unknown_error" and fields["reason_params"] == {"error": REFUSED}
    shown = reason_display(code=fields["reason_code"], params=fields["reason_params"], text=fields["reason"])
    assert shown == ("The current VM count could not be read from Prometheus: Prometheus at http://127.0.0.1:9 is "
                     "not reachable (connection refused).")
    with translation.override("ko"):
        shown = reason_display(code=fields["reason_code"], params=fields["reason_params"], text=fields["reason"])
    assert shown == ("Prometheus에서 현재 VM 수를 읽지 못했습니다: Prometheus(http://127.0.0.1:9)에 연결할 수 없습니다 "
                     "(연결 거부).")


def test_a_nested_reason_and_a_stored_label():
    inner = Reason("adding", moved=1, count=2, after=3, max=4)
    outer = Reason("with_ip_pool_note", reason=inner, note="vCenter guest IPs could not be read (VCenterUnavailable: "
                   "vCenter vc:443 refused the connection while trying to list VMs); counted without them")
    assert str(outer).startswith("Adding 1 VM(s): 2 → 3 (maximum 4). (IP pool: vCenter guest IPs")
    fields = reason_fields(outer)
    assert fields["reason_params"]["reason"] == {"code": "adding", "params": {"moved": 1, "count": 2, "after": 3,
                                                                               "max": 4}}
    with translation.override("ko"):
        shown = reason_display(code=fields["reason_code"], params=fields["reason_params"], text=fields["reason"])
        assert shown == "VM 1대 추가: 2 → 3 (최대 4). (IP 풀: vCenter에 연결할 수 없습니다 (연결 거부))"
        policy = reason_fields(Reason("scaled_by_policy", policy="Target tracking", interval=60))
        assert reason_display(code=policy["reason_code"], params=policy["reason_params"], text="") == \
            "알림에 따라 조치하지 않았습니다. 이 서비스는 목표 추적 정책으로 스케일링됩니다 (60초마다 평가)."


def test_rows_without_a_code():
    with translation.override("ko"):
        # An older row whose text is one of the product's sentences: translated all the same.
        assert reason_display(code="", params={}, text="The IP pool has no free address left.") == \
            "IP 풀에 남은 주소가 없습니다."
        # Free text (an operator's, an older wording): shown as stored.
        assert reason_display(code="", params={}, text="cpu high") == "cpu high"
        # A code whose parameters changed since the row was written: the stored text, not a crash.
        assert reason_display(code="at_max", params={"n": 3}, text="3 VMs, maximum 3") == "3 VMs, maximum 3"
        assert reason_display(code="no-such-code", params={}, text="stored") == "stored"


def test_the_decision_service_stores_code_and_parameters(config):
    config.enabled = False
    config.save()
    event = scale_decision_record(config=config, action="scale-out", trigger=DecisionTrigger(alert_name="HighCPU"))
    event.refresh_from_db()
    assert (event.decision, event.reason, event.reason_code, event.reason_params) == (
        Decision.BLOCK_DISABLED, "The autoscaling config is disabled.", "config_disabled", {})


def test_pages_show_the_reason_translated_and_the_api_keeps_english(operator_client, config, make_event, admin_client):
    reason = Reason("at_max", count=4, max=4)
    event = make_event(config, decision=Decision.BLOCK_MAX, status="blocked", **reason_fields(reason))
    body = operator_client.get(reverse("events:detail", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "VM 4대로 최대 4대에 도달했습니다. 스케일아웃 쿨다운을 시작했습니다." in body
    listing = operator_client.get(reverse("events:list"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "VM 4대로 최대 4대에 도달했습니다" in listing
    api = admin_client.get("/api/events/", {"service": config.service_name}, HTTP_ACCEPT_LANGUAGE="ko").json()
    rows = api["results"] if isinstance(api, dict) else api
    assert rows[0]["reason"] == str(reason)


def test_a_failed_stage_names_the_stage_and_explains_the_error():
    error = STAGE_FAILED % {"stage": "clone", "error": "vCenter vc.example.test:443 refused the connection while "
                            "trying to clone: check IXNODE_VCENTER_HOST/IXNODE_VCENTER_PORT and that the vCenter "
                            "service is running."}
    shown = event_error_display(error)
    assert shown.summary == ("Stage “Clone VMs from the template” failed: vCenter at vc.example.test is not reachable "
                             "(connection refused).")
    assert shown.detail == error
    with translation.override("ko"):
        assert event_error_display(error).summary == \
            "“템플릿에서 VM 복제” 단계 실패: vCenter(vc.example.test)에 연결할 수 없습니다 (연결 거부)."
    assert event_error_display("The config was deleted.").summary == "The config was deleted."


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["https://192.0.2.10", "[bad"])
def test_a_stored_configuration_error_is_explained_in_the_readers_language(settings, host, config, make_event,
                                                                           operator_client):
    """A run that failed on F5 settings stores the client's English message whichever language was active when it
    was raised; the event page explains it in the reader's language ("not configured", not the generic "reported
    an error"), the stored text as technical detail."""
    settings.IXNODE_F5_HOST, settings.IXNODE_F5_USER, settings.IXNODE_F5_PASSWORD = host, "admin", "pw"
    stored = {}
    for language in ("ko", "en"):
        with translation.override(language), pytest.raises(F5ConfigurationError) as caught:
            f5_client().list_members(pool="auto-vm-test-pool")
        stored[language] = STAGE_FAILED % {"stage": "f5_add", "error": caught.value}  # as the runner writes it
    assert stored["ko"] == stored["en"] and "IXNODE_F5_HOST is not configured correctly" in stored["en"]
    for language, error in stored.items():
        event = make_event(config, status="rolled_back", error=error)
        url = reverse("events:detail", args=[event.pk])
        english = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Stage “Add F5 pool members” failed: F5 BIG-IP is not configured." in english, language
        korean = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        assert "F5 BIG-IP이(가) 설정되지 않았습니다." in korean, language
        assert "reported an error" not in english and "오류를 보고했습니다" not in korean
        assert "IXNODE_F5_HOST is not configured correctly" in korean  # the stored text, in the technical detail


@pytest.fixture
def listed_code():
    yield "test_listed"
    REASONS.pop("test_listed", None)  # the catalogue is the process's: leave it as it was


def test_list_parameters_parts_and_registered_codes(listed_code):
    reasons_register({"test_listed": ReasonSpec("Listed: %(items)s.")})
    reasons_register({"test_listed": ReasonSpec("Listed: %(items)s.")})  # again, the same: fine
    with pytest.raises(ValueError, match="already registered"):
        reasons_register({"test_listed": ReasonSpec("Another sentence.")})
    with pytest.raises(ValueError, match="already registered"):
        reasons_register({"at_max": ReasonSpec("Not the decision's sentence.")})
    listed = Reason("test_listed", items=[Reason("ip_pool_empty"), "free text", 3])
    assert listed == "Listed: The IP pool has no free address left.; free text; 3."
    parts = reason_parts(listed, with_text=True)
    assert parts == {"code": "test_listed", "params": {"items": [{"code": "ip_pool_empty", "params": {}},
                                                                 "free text", 3]}, "text": str(listed)}
    assert reason_parts("plain") == {} and reason_parts("plain", with_text=True) == {"text": "plain"}
    # JSON has no NaN: a parameter that is not a finite number is kept as text (and the English text shown)
    assert reason_parts(Reason("cooldown_out", left=float("nan")))["params"] == {"left": "nan"}
    assert parts_display({"code": "cooldown_out", "params": {"left": "nan"}}, text="stored") == "stored"
    for broken in (None, [], "x", {"code": None}, {"code": "adding", "params": "x"}):
        assert parts_display(broken, text="stored") == "stored"
