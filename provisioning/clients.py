"""The external clients of one run, built once per run and lazily (a scale-in that never touches vCenter does not
log in to it).

Only :mod:`provisioning.ports` reads them: the stages never touch ``ctx.clients`` (``tests/provisioning/
test_ports_boundary.py`` checks it). Each client is built by its integration's one factory and typed by its
interface, so nothing but the interface's methods can be called on it.
"""

from __future__ import annotations

import threading

from ixnode.integrations.f5.client import f5_client
from ixnode.integrations.f5.interface import F5
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenter


class Clients:
    """The external clients of one run, created on first use and shared by the run's threads. A client given to
    the constructor (tests, a caller holding one already) is used instead of building one."""

    def __init__(self, *, vcenter: VCenter | None = None, f5: F5 | None = None) -> None:
        self._vcenter = vcenter
        self._f5 = f5
        self._lock = threading.Lock()

    @property
    def vcenter(self) -> VCenter:
        with self._lock:
            if self._vcenter is None:
                self._vcenter = vcenter_client()
            return self._vcenter

    @property
    def f5(self) -> F5:
        with self._lock:
            if self._f5 is None:
                self._f5 = f5_client()
            return self._f5

    def close(self) -> None:
        """Nothing to close: vCenter sessions are pooled by the vCenter client, bigrest's by its session."""
