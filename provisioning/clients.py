"""The external clients of one run, built once per run and lazily (a scale-in that never touches vCenter does not
log in to it)."""

from __future__ import annotations

import threading
from typing import Any

from ixnode.integrations.f5.client import F5Client
from ixnode.integrations.vcenter.client import vcenter_client


class Clients:
    """The external clients of one run, created on first use and shared by the run's threads."""

    def __init__(self, *, vcenter: Any = None, f5: Any = None) -> None:
        self._vcenter = vcenter
        self._f5 = f5
        self._lock = threading.Lock()

    @property
    def vcenter(self):
        with self._lock:
            if self._vcenter is None:

                self._vcenter = vcenter_client()
            return self._vcenter

    @property
    def f5(self):
        with self._lock:
            if self._f5 is None:

                self._f5 = F5Client.from_settings()
            return self._f5

    def close(self) -> None:
        """Nothing to close: vCenter sessions are pooled by the vCenter client, bigrest's by its session."""
