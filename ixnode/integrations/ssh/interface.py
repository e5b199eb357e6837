"""What the product asks of an SSH connection to a VM (:class:`SSH`), the data it gets back and the errors it can
raise.

Product code depends on this module only; ``client.py`` holds the paramiko implementation and ``ssh_client()``, the
one way to build it (host-key policy and timeouts from the IXNODE_SSH_* settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

# ---------------------------------------------------------------------------------------------------------
# Errors


class SSHError(Exception):
    """Base of every SSH failure; ``str(exc)`` says what failed and what to check."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SSHConfigError(SSHError):
    """Settings or the key file are unusable (missing key, wrong mode, unknown policy)."""


class SSHUnavailable(SSHError):
    """The host did not accept a TCP connection / SSH handshake in time."""


class SSHAuthError(SSHError):
    """The server refused the key."""


class SSHHostKeyError(SSHError):
    """The server's host key is unknown (policy reject) or changed."""


class SSHCommandFailed(SSHError):
    """A remote command exited non-zero or did not finish in time."""

    def __init__(self, message: str, *, result: CommandResult | None = None) -> None:
        super().__init__(message)
        self.result = result


# ---------------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


# ---------------------------------------------------------------------------------------------------------
# The port


class SSH(Protocol):
    """One SSH connection to one host (``user@host:port`` with a key file). Use as a context manager, or call
    ``connect()`` / ``close()``; the first command connects when nothing did. Every method raises only
    :class:`SSHError` subclasses (``read_file`` also ``FileNotFoundError``)."""

    @property
    def where(self) -> str:
        """``user@host:port``, for messages."""
        ...

    def check_key(self) -> None:
        """Check, without connecting, that the key file is usable: ours, mode 600/400, a private key without a
        passphrase; :class:`SSHConfigError` says what is wrong."""
        ...

    def __enter__(self) -> SSH: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def connect(self, *, wait: float = 0.0, interval: float = 1.0) -> SSH:
        """Connect; with ``wait`` > 0 keep retrying while the host is unreachable (booting VM, new address)."""
        ...

    def close(self) -> None: ...

    def run(
        self, command: str, *, timeout: float | None = None, check: bool = True, stdin: bytes | None = None
    ) -> CommandResult:
        """Run ``command`` through the remote login shell; :class:`SSHCommandFailed` on non-zero when ``check``."""
        ...

    def upload(self, content: bytes | str, remote_path: str, *, mode: int = 0o644, sudo: bool = False) -> None:
        """Write ``remote_path`` atomically (temp file + rename; with ``sudo`` for root-owned paths)."""
        ...

    def read_file(self, remote_path: str) -> bytes: ...
