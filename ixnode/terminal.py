"""Foreground supervisors (``make run``, ``make lab``) and the terminal they run in."""

from __future__ import annotations

import contextlib
import os
import signal


class TerminalForeground:
    """Make this process the foreground process group of its controlling terminal, and give it back on exit."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.previous: int | None = None

    def __enter__(self) -> TerminalForeground:
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError:
            return self  # no controlling terminal (CI, a service manager, the lab)
        try:
            if os.tcgetpgrp(fd) != os.getpgrp():
                os.close(fd)  # started in the background: leave the terminal alone
                return self
            previous = os.getpgrp()
            if os.getpid() != previous:
                os.setpgid(0, 0)
            with self._ttou_ignored():
                os.tcsetpgrp(fd, os.getpgrp())
        except OSError:
            os.close(fd)
            return self
        self.fd, self.previous = fd, previous
        return self

    @staticmethod
    @contextlib.contextmanager
    def _ttou_ignored():
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            yield
        finally:
            signal.signal(signal.SIGTTOU, old)

    def __exit__(self, *exc: object) -> None:
        if self.fd is None:
            return
        if self.previous is not None:
            with contextlib.suppress(OSError), self._ttou_ignored():
                os.tcsetpgrp(self.fd, self.previous)
        os.close(self.fd)
        self.fd = None
