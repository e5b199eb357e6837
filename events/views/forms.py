"""The event history's filter form (GET)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from events.choices import Decision, EventStatus, ScaleAction
from events.views.selectors import EventFilters


def _with_any(choices) -> list[tuple[str, str]]:
    return [("", _("Any")), *choices]


class EventFilterForm(forms.Form):
    service = forms.CharField(label=_("Service"), required=False, max_length=63)
    action = forms.ChoiceField(label=_("Action"), required=False, choices=_with_any(ScaleAction.choices))
    decision = forms.ChoiceField(label=_("Decision"), required=False, choices=_with_any(Decision.choices))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_with_any(EventStatus.choices))
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> EventFilters:
        """The valid filters (call after is_valid(); invalid fields are ignored)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return EventFilters(
            service=(data.get("service") or "").strip(),
            action=data.get("action") or "",
            decision=data.get("decision") or "",
            status=data.get("status") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
