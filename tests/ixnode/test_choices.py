"""``get_<field>_display()`` on the product's models: the same labels as Django's, translating only the one shown."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import models
from django.utils import translation

from events.choices import Decision, EventStatus, ScaleAction
from events.models import ScaleEvent
from exporters.models import ExporterInstall
from policies.models import WhatIfRun


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize(("model", "name"), [(ScaleEvent, "decision"), (ScaleEvent, "action"),
                                             (ScaleEvent, "status"), (ExporterInstall, "status"),
                                             (WhatIfRun, "status")])
def test_labels_are_djangos_in_every_language(model, name, language):
    field = model._meta.get_field(name)
    with translation.override(language):
        for value, _label in field.flatchoices:
            row = model(**{name: value})
            assert getattr(row, f"get_{name}_display")() == models.Model._get_FIELD_display(row, field)
        assert model(**{name: "no-such-value"})._get_FIELD_display(field) == "no-such-value"  # an old row's value


def test_a_label_shown_translates_only_itself():
    event = ScaleEvent(decision=Decision.BLOCK_MAX, action=ScaleAction.SCALE_OUT, status=EventStatus.BLOCKED)
    with translation.override("ko"):
        event.get_decision_display()  # the field's label dict is built once
        real = translation._trans.gettext
        with mock.patch.object(translation._trans, "gettext", side_effect=real) as gettext:
            shown = event.get_decision_display()
        assert gettext.call_count == 1 and shown == str(Decision.BLOCK_MAX.label)
        with mock.patch.object(translation._trans, "gettext", side_effect=real) as gettext:
            models.Model._get_FIELD_display(event, ScaleEvent._meta.get_field("decision"))
        assert gettext.call_count > len(Decision.choices)  # Django's own: every label of the field, and the one shown
