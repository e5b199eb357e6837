"""What the product asks of the PLG host (:class:`PlgHost`: the machine where prometheus.yml, the rule and target
files and alertmanager.yml live), the data it gets back and the errors it can raise.

Product code depends on this module (and on ``publisher.py``, which publishes a set of files as one change);
``client.py`` holds the two implementations (local files, SSH/SFTP) and ``plg_client()``, the one way to build the
configured one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol


class PlgError(Exception):
    """Base of the PLG integration's errors; the message is meant for the operator."""


class PlgConnectionError(PlgError):
    """The PLG host cannot be reached or refuses us."""


class PlgFileError(PlgError):
    """A file on the PLG host cannot be read or written."""


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return "\n".join(part.strip() for part in (self.stdout, self.stderr) if part.strip())


class PlgHost(Protocol):
    """Files and commands on the PLG host. Use as a context manager (SSH connects on enter). Every method raises
    only :class:`PlgError` subclasses."""

    @property
    def description(self) -> str:
        """Which host this is, for messages ("local PLG host", "PLG host user@host:22")."""
        ...

    def __enter__(self) -> PlgHost: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def close(self) -> None: ...

    def read_bytes(self, path: str) -> bytes | None:
        """Content of ``path``, or None when it does not exist."""
        ...

    def write_bytes(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write ``path`` directly (used for temp files; see :meth:`write_atomic`)."""
        ...

    def write_atomic(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Temp file + rename; keeps the mode of the file it replaces (0644 for new files)."""
        ...

    def rename(self, source: str, target: str) -> None:
        """Atomically replace ``target`` by ``source``."""
        ...

    def remove(self, path: str) -> None:
        """Delete ``path``; a missing file is fine."""
        ...

    def mode(self, path: str) -> int | None:
        """Permission bits of ``path``, or None when missing."""
        ...

    def exists(self, path: str) -> bool: ...

    def makedirs(self, path: str) -> None:
        """Create directory ``path`` and its parents when missing."""
        ...

    def listdir(self, path: str) -> list[str]:
        """Names in directory ``path`` ([] when it does not exist)."""
        ...

    def temp_path(self, path: str, tag: str = "tmp") -> str:
        """A hidden sibling of ``path`` (same directory, so a rename over ``path`` stays atomic)."""
        ...

    def run(self, argv: Sequence[str], timeout: float = 60.0) -> CommandResult:
        """Run a command on the host."""
        ...
