"""System checks of the settings: renamed environment variables still set under their old names, and IXNODE_
variables that nothing reads (a misspelt name would otherwise be ignored without a word)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register
from django.utils.translation import gettext as _

from ixnode.env import legacy_used, unknown_names


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


def unknown_names_message() -> str | None:
    """One sentence naming every IXNODE_ variable set that no setting reads, with the name it most resembles."""
    unknown = unknown_names()
    if not unknown:
        return None
    names = ", ".join(
        _("%(name)s (did you mean %(known)s?)") % {"name": name, "known": known} if known else name
        for name, known in unknown
    )
    return _("Environment variables that no setting reads, so they change nothing: %(names)s. The settings are "
             "listed in docs/configuration.md.") % {"names": names}


@register()
def unknown_names_check(app_configs: Any, **kwargs: Any) -> list[Warning]:
    message = unknown_names_message()
    return [Warning(message, id="ixnode.W002")] if message else []
