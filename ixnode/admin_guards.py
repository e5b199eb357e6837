"""Admin guards: hostile input to an admin page is answered 400 with a message, never a 500.

Django's changelist runs an action on ``queryset.filter(pk__in=request.POST.getlist("_selected_action"))``
without checking the values: ``abc``, an empty value, NUL or a number beyond the column's range raised in the
database layer (a 500). ``SelectedRowsGuardMixin`` (first base of every ModelAdmin of the product) checks them
against the primary key field (its type and its range on this database) before the action runs.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _


def selected_rows_invalid(model: type, values: list[str]) -> str | None:
    """The first of ``values`` that cannot be a primary key of ``model`` (else None)."""
    pk = model._meta.pk  # type: ignore[attr-defined]
    while pk.is_relation:  # a one-to-one primary key (CooldownState.config): the referenced key's type and range
        pk = pk.target_field
    for value in values:
        try:
            pk.run_validators(pk.to_python(value))
        except (ValidationError, TypeError, ValueError, OverflowError):
            return value
    return None


class SelectedRowsGuardMixin:
    """An admin action on selected rows whose ids are not ids: 400 with a message (module docstring)."""

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        model = self.model  # type: ignore[attr-defined]  # a ModelAdmin's
        bad = selected_rows_invalid(model, request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        if bad is not None:
            message = _("The selected rows are not valid (%(value)s is not an id); no action was run.") % {
                "value": ascii(bad[:40])}
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return super().response_action(request, queryset)  # type: ignore[misc]
