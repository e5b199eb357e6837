"""What the product asks of Grafana (:class:`Grafana`) and its error.

Product code depends on this module only; ``client.py`` holds the HTTP API implementation and
``grafana_client()``, the one way to build it (None when IXNODE_GRAFANA_URL is not set: dashboards are then not pushed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeAlias

#: A JSON document as Python values (what a dashboard model is).
JSONValue: TypeAlias = "str | int | float | bool | None | list[JSONValue] | dict[str, JSONValue]"


class GrafanaError(Exception):
    """Grafana refused or could not be reached; the message says what to check."""


class Grafana(Protocol):
    """The Grafana calls the product makes. Every method raises only :class:`GrafanaError`."""

    def dashboard_push(self, *, dashboard: Mapping[str, JSONValue], folder_uid: str = "") -> str:
        """Create or overwrite the dashboard (by its ``uid``); a short description of what Grafana answered."""
        ...

    def dashboard_delete(self, *, uid: str) -> bool:
        """Delete the dashboard; False when it did not exist."""
        ...

    def annotation_create(self, *, text: str, tags: list[str], time_ms: int | None = None) -> int:
        """An organisation-wide annotation (found by the dashboards' tag query); its id."""
        ...
