"""What the product asks of Alertmanager (:class:`Alertmanager`), the neutral data it gets back and its error.

Product code depends on this module only; ``client.py`` holds the HTTP API v2 implementation and
``alertmanager_client()``, the one way to build it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class AlertmanagerError(Exception):
    """Alertmanager could not answer; ``str()`` is the operator-facing reason."""


@dataclass(frozen=True)
class ActiveAlert:
    fingerprint: str
    labels: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    state: str = "active"


class Alertmanager(Protocol):
    """The Alertmanager reads the product uses. Every method raises only :class:`AlertmanagerError`."""

    def active_alerts(self, matchers: dict[str, str]) -> list[ActiveAlert]:
        """Active (not silenced, not inhibited) alerts whose labels equal ``matchers``."""
        ...

    def loaded_config(self) -> str:
        """The configuration Alertmanager runs with, as YAML text."""
        ...
