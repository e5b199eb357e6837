"""``CompiledRead`` (ixnode/queries.py): the ORM's query, compiled once, the same rows as the queryset each time."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from autoscaling import selectors
from events.choices import Decision, EventStatus, ScaleAction
from events.models import ScaleEvent
from ixnode.queries import CompiledRead

pytestmark = pytest.mark.django_db


def _event(config, **fields) -> ScaleEvent:
    values = {"config": config, "service_name": config.service_name, "action": ScaleAction.SCALE_OUT,
              "decision": Decision.BLOCK_MAX, "status": EventStatus.BLOCKED} | fields
    return ScaleEvent.objects.create(**values)


def test_rows_are_the_querysets_for_every_value(config):
    events = [_event(config, alert_key=key) for key in ("a", "b", "a", "it's \"quoted\"", "a")]
    read = CompiledRead(lambda config_id, key: ScaleEvent.objects.filter(config_id=config_id, alert_key=key)
                        .order_by("-id").values_list("pk", "alert_key"), config_id=-1, key="\x00sentinel")
    for key in ("a", "b", "it's \"quoted\"", "missing"):
        expected = list(ScaleEvent.objects.filter(config_id=config.pk, alert_key=key).order_by("-id")
                        .values_list("pk", "alert_key"))
        assert read.rows(config_id=config.pk, key=key) == [tuple(row) for row in expected]
    assert read.rows(config_id=config.pk, key="a")[0][0] == events[-1].pk
    assert read.rows(config_id=config.pk + 1000, key="a") == []


def test_compiled_once_then_one_statement_per_read(config):
    _event(config, alert_key="k")
    read = CompiledRead(lambda key: ScaleEvent.objects.filter(alert_key=key).values_list("pk", flat=True),
                        key="\x00sentinel")
    read.rows(key="k")
    with CaptureQueriesContext(connection) as queries:
        assert len(read.rows(key="k")) == 1
        assert read.rows(key="other") == []
    assert len(queries) == 2
    assert "other" in queries[1]["sql"] and "\x00" not in queries[1]["sql"]


def test_a_sentinel_that_is_also_a_constant_is_refused(config):
    # Two parameters equal to the sentinel: which one is the caller's value is ambiguous — refused, never guessed.
    read = CompiledRead(lambda key: ScaleEvent.objects.filter(alert_key=key, service_name="same")
                        .values_list("pk"), key="same")
    with pytest.raises(ValueError, match="appears 2 times"):
        read.rows(key="x")
    unused = CompiledRead(lambda key: ScaleEvent.objects.values_list("pk"), key="never-bound")
    with pytest.raises(ValueError, match="appears 0 times"):
        unused.rows(key="x")


def test_values_must_be_exactly_the_sentinels():
    read = CompiledRead(lambda key: ScaleEvent.objects.filter(alert_key=key).values_list("pk"), key="\x00s")
    with pytest.raises(TypeError, match="exactly"):
        read.rows()
    with pytest.raises(TypeError, match="exactly"):
        read.rows(key="a", other=1)


def test_webhook_selectors_match_their_querysets(config):
    assert selectors.delivery_state(config=config, alert_key="k") == (False, None)
    assert selectors.scale_event_in_flight_exists(config=config) is False
    first, last = _event(config, alert_key="k"), _event(config, alert_key="k")
    _event(config, alert_key="other")
    _event(config, alert_key="")  # a manual action: no alert instance
    assert selectors.delivery_state(config=config, alert_key="k") == (False, last.pk) != (False, first.pk)
    assert selectors.delivery_state(config=config, alert_key="") == (False, None)  # no key: nothing looked up
    assert selectors.scale_event_in_flight_exists(config=config) is False
    run = _event(config, decision=Decision.ALLOW, status=EventStatus.QUEUED)
    assert selectors.scale_event_in_flight_exists(config=config) is True
    assert selectors.delivery_state(config=config, alert_key="other") == (True, run.pk - 2)
    with CaptureQueriesContext(connection) as queries:
        selectors.delivery_state(config=config, alert_key="k")
    assert len(queries) == 1  # both facts in one statement


def test_delivery_state_of_a_deleted_config(config):
    _event(config, alert_key="k")
    config_id = config.pk
    config.delete()
    config.pk = config_id
    assert selectors.delivery_state(config=config, alert_key="k") == (False, None)
