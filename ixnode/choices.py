"""Choice labels for people without translating every label of the field each time one is shown.

Django's ``get_<field>_display()`` builds a dict of all the field's choices on every call, and hashing a lazy label
translates it: a decision label shown on a page translated all of the field's labels (nine for a decision). The
event history draws three such labels per row, 50 rows a page. :class:`ChoiceLabelsMixin` answers from a dict of
the field's choices built once per field, translating only the label shown, in the reader's language.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.encoding import force_str

_LABELS = "_ixnode_choice_labels"


def choice_labels(field: models.Field) -> dict[Any, Any]:
    """``field``'s choices as {value: label}, the labels left lazy (built once per field)."""
    labels = field.__dict__.get(_LABELS)
    if labels is None:
        labels = dict(field.flatchoices)
        field.__dict__[_LABELS] = labels
    return labels


class ChoiceLabelsMixin:
    """For a model: ``get_<field>_display()`` translates the label shown only (module docstring)."""

    def _get_FIELD_display(self, field: models.Field) -> Any:  # noqa: N802 - Django's name, overridden
        value = getattr(self, field.attname)
        try:
            label = choice_labels(field).get(value, value)
        except TypeError:  # an unhashable value (never a choice): Django's own answer
            return super()._get_FIELD_display(field)  # type: ignore[misc]
        return force_str(label, strings_only=True)
