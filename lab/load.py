"""The load generator: clients sending GET requests to the VIP at the rate of the load profile (or a rate set
through the lab's control endpoint), each on a kept-alive connection."""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from lab.config import LabConfig, load_at

TICK = 0.05


class LoadGenerator:
    def __init__(self, lab: LabConfig) -> None:
        self.lab = lab
        self.started = time.monotonic()
        self.override: float | None = None
        self.sent = 0
        self.errors = 0
        self._stop = threading.Event()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lab-client")
        self.thread = threading.Thread(target=self._run, name="lab-load", daemon=True)

    def rate(self) -> float:
        if self.override is not None:
            return self.override
        return load_at(self.lab.timings.profile, time.monotonic() - self.started)

    def set_rate(self, rate: float | None) -> None:
        """A fixed rate in requests per second, or None to follow the profile again (from its start)."""
        if rate is None:
            self.started = time.monotonic()
        self.override = rate

    def start(self) -> None:
        self.started = time.monotonic()
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        due = 0.0
        last = time.monotonic()
        while not self._stop.wait(TICK):
            now = time.monotonic()
            due += self.rate() * (now - last)
            last = now
            while due >= 1.0:
                due -= 1.0
                self._pool.submit(self._request)

    def _request(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self.lab.vip, self.lab.app_port,
                                                                               timeout=10)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            ok = False
        with self._lock:
            self.sent += 1
            self.errors += 0 if ok else 1
