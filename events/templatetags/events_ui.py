"""Template helpers of the event pages: a stage's title, a run's error for people."""

from __future__ import annotations

from django import template

from events.views.selectors import RunError, event_error_display, stage_label

register = template.Library()


@register.filter
def stage_title(name: str) -> str:
    """The translated title of a pipeline stage (its name when unknown)."""
    return stage_label(name) if name else ""


@register.filter
def run_error(text: str) -> RunError:
    return event_error_display(text)
