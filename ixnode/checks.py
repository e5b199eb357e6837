"""System checks of the settings: renamed environment variables still set under their old names."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register
from django.utils.translation import gettext as _

from ixnode.env import legacy_used


def legacy_names_message() -> str | None:
    """One sentence naming every old variable name read by the settings, with its new name; None when none."""
    if not legacy_used:
        return None
    pairs = ", ".join(f"{old} → {new}" for new, old in sorted(legacy_used.items()))
    return _("Environment variables set under their old names (still read, to be renamed): %(pairs)s. "
             "See docs/configuration.md.") % {"pairs": pairs}


@register()
def legacy_names_check(app_configs: Any, **kwargs: Any) -> list[Warning]:
    message = legacy_names_message()
    return [Warning(message, id="ixnode.W001")] if message else []
