"""Template helpers of the pages and the admin: setting names as code, problems, history actors and reasons."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from ixnode.history import history_actor_label, history_reason
from ixnode.integrations.problems import Problem, explain_text

register = template.Library()

# IXNODE_PLG_MODE, IXNODE_PROMETHEUS_URL, IXNODE_PLG_MODE=local, VCENTER_* …
SETTING_RE = re.compile(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]*\*?(?:=[A-Za-z0-9_./:-]+)?)")


@register.filter
def settings_code(text: Any) -> SafeString:
    """``text`` escaped, with the setting names in it set as ``<code>`` (a fix reads "Set <code>X</code> …")."""
    return mark_safe(SETTING_RE.sub(r"<code>\1</code>", escape(str(text or ""))))  # noqa: S308 - escaped above


@register.filter
def problem(text: Any) -> Problem:
    """A stored error message as :class:`~ixnode.integrations.problems.Problem` (sentence + technical text)."""
    return explain_text(str(text or ""))


@register.filter
def translated(text: Any) -> str:
    """A stored msgid (a step, a reason written in English) in the reader's language; other text unchanged."""
    return gettext(str(text)) if text else ""


@register.filter
def history_actor(record: Any) -> str:
    return history_actor_label(record)


@register.filter
def history_reason_shown(record: Any) -> str:
    return history_reason(record)
