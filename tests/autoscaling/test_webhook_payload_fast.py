"""The webhook's fast payload validation accepts only what AlertmanagerPayloadSerializer accepts, and returns
what it returns for the fields the view uses; everything else is left to the serializer (and its 400s)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscaling.api.webhook import AlertmanagerPayloadSerializer, payload_fast_validate
from bench.webhook import payload

BASE = json.loads(payload(7))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.sampled_from(
        ["", " ", "4", 4, "firing", "resolved", "scale-out", " scale-in ", "x" * 65, "x" * 1025, "a\x00b", "\ud800",
         "2025-01-01T00:00:00Z", "2025-01-01T02:00:00+02:00", "not a date", "0001-01-01T00:00:00Z", " é "])
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
TOP = ["version", "status", "receiver", "groupKey", "truncatedAlerts", "groupLabels", "commonLabels",
       "commonAnnotations", "externalURL", "alerts", "extra"]
ALERT = ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint", "extra"]
LABELS = ["autoscale", "alertname", "other"]


def projection(validated: dict) -> dict:
    return {
        "receiver": validated.get("receiver", ""),
        "alerts": [{"status": a["status"], "labels": dict(a["labels"]), "startsAt": a.get("startsAt"),
                    "fingerprint": a.get("fingerprint", "")} for a in validated["alerts"]],
    }


def check(data) -> bool:
    fast = payload_fast_validate(data)
    serializer = AlertmanagerPayloadSerializer(data=data)
    valid = serializer.is_valid()
    if fast is not None:
        assert valid, (data, serializer.errors)
        assert fast == projection(serializer.validated_data)
    return fast is not None


def test_the_alertmanager_payload_takes_the_fast_path():
    assert check(copy.deepcopy(BASE))
    two = copy.deepcopy(BASE)
    two["alerts"].append({**BASE["alerts"][0], "status": "resolved", "labels": {"autoscale": " scale-in "}})
    del two["alerts"][1]["startsAt"], two["alerts"][1]["fingerprint"]
    assert check(two)


@pytest.mark.parametrize(("where", "key", "value"), [
    ("top", "version", 4), ("top", "version", "5"), ("top", "receiver", None), ("top", "receiver", "r" * 256),
    ("top", "truncatedAlerts", -1), ("top", "truncatedAlerts", "2"), ("top", "alerts", {}), ("top", "groupLabels", []),
    ("alert", "labels", {"alertname": "x"}), ("alert", "labels", {"autoscale": "up"}),
    ("alert", "labels", {"autoscale": "scale-out", "n": 5}), ("alert", "startsAt", "yesterday"),
    ("alert", "fingerprint", "f" * 65), ("alert", "fingerprint", "a\x00"), ("alert", "status", "pending"),
])
def test_anything_unusual_goes_to_the_serializer(where, key, value):
    data = copy.deepcopy(BASE)
    (data if where == "top" else data["alerts"][0])[key] = value
    assert not check(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["top", "alert", "label"]), st.integers(0, 10), JSON_VALUES,
                          st.booleans()), max_size=4))
def test_fast_path_never_disagrees_with_the_serializer(changes):
    data = copy.deepcopy(BASE)
    for where, index, value, delete in changes:
        target, keys = data, TOP
        for step, step_keys in (("alerts", ALERT), ("labels", LABELS)):
            if where == "top" or (where == "alert" and step == "labels"):
                break
            inner = target.get(step) if isinstance(target, dict) else None
            target = inner[0] if step == "alerts" and isinstance(inner, list) and inner else inner
            keys = step_keys
        if not isinstance(target, dict):
            continue
        key = keys[index % len(keys)]
        if delete:
            target.pop(key, None)
        else:
            target[key] = value
    check(data)
