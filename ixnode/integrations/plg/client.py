"""The PLG host (where prometheus.yml, the rule/target files and alertmanager.yml live), reached locally or over
SSH/SFTP (paramiko). One small interface, two backends, chosen by ``IXNODE_PLG_MODE``:

- ``local``: the files are on this machine; commands run with :mod:`subprocess`.
- ``ssh``: the files are on ``IXNODE_PLG_SSH_HOST``; files move over SFTP, commands (``promtool``, ``amtool``,
  reload commands) run there over SSH. The host key must be known (``IXNODE_PLG_SSH_KNOWN_HOSTS``).

Every write is a temp file next to the target + an atomic rename (POSIX rename over SFTP), so readers
(Prometheus' file_sd watcher included) never see half a file. Both backends implement
:class:`~ixnode.integrations.plg.interface.PlgHost`; ``plg_client()`` is the one way to build the configured one.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shlex
import subprocess
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import paramiko
from django.conf import settings

from ixnode.integrations.plg.interface import CommandResult, PlgConnectionError, PlgError, PlgFileError, PlgHost
from ixnode.integrations.ssh.client import check_key_file
from ixnode.integrations.ssh.interface import SSHConfigError

__all__ = ["LocalPlgHost", "PlgError", "PlgHostBase", "SshPlgHost", "plg_client"]


class PlgHostBase(ABC):
    """What both backends share: the context manager, atomic writes, temp names."""

    description: str = "PLG host"

    def __enter__(self) -> PlgHostBase:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection (nothing for local)."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes | None:
        """Content of ``path``, or None when it does not exist."""

    @abstractmethod
    def write_bytes(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write ``path`` directly (used for temp files; see :meth:`write_atomic`)."""

    @abstractmethod
    def rename(self, source: str, target: str) -> None:
        """Atomically replace ``target`` by ``source``."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Delete ``path``; a missing file is fine."""

    @abstractmethod
    def mode(self, path: str) -> int | None:
        """Permission bits of ``path``, or None when missing."""

    @abstractmethod
    def makedirs(self, path: str) -> None:
        """Create directory ``path`` and its parents when missing."""

    @abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Names in directory ``path`` ([] when it does not exist)."""

    @abstractmethod
    def run(self, argv: Sequence[str], timeout: float = 60.0) -> CommandResult:
        """Run a command on the host."""

    def exists(self, path: str) -> bool:
        return self.mode(path) is not None

    def temp_path(self, path: str, tag: str = "tmp") -> str:
        """A hidden sibling of ``path`` (same directory, so the rename stays atomic)."""
        directory, name = posixpath.split(path)
        return posixpath.join(directory, f".{name}.ixnode-{tag}-{uuid.uuid4().hex[:12]}")

    def write_atomic(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Temp file + rename; keeps the mode of the file it replaces (0644 for new files)."""
        self.makedirs(posixpath.dirname(path))
        temp = self.temp_path(path)
        if mode is None:
            mode = self.mode(path) or 0o644
        try:
            self.write_bytes(temp, data, mode)
            self.rename(temp, path)
        except BaseException:
            with contextlib.suppress(PlgError):
                self.remove(temp)
            raise


class LocalPlgHost(PlgHostBase):
    """The PLG files are on this machine."""

    description = "local PLG host"

    def read_bytes(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PlgFileError(f"cannot read {path}: {exc.strerror}") from exc

    def write_bytes(self, path: str, data: bytes, mode: int | None = None) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode if mode is not None else 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(path, mode)
        except OSError as exc:
            raise PlgFileError(f"cannot write {path}: {exc.strerror}") from exc

    def rename(self, source: str, target: str) -> None:
        try:
            os.replace(source, target)
        except OSError as exc:
            raise PlgFileError(f"cannot rename {source} to {target}: {exc.strerror}") from exc

    def remove(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise PlgFileError(f"cannot delete {path}: {exc.strerror}") from exc

    def mode(self, path: str) -> int | None:
        try:
            return os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PlgFileError(f"cannot stat {path}: {exc.strerror}") from exc

    def makedirs(self, path: str) -> None:
        if not path:
            return
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise PlgFileError(f"cannot create directory {path}: {exc.strerror}") from exc

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise PlgFileError(f"cannot list {path}: {exc.strerror}") from exc

    def run(self, argv: Sequence[str], timeout: float = 60.0) -> CommandResult:
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError as exc:
            raise PlgError(f"'{argv[0]}' is not installed on the {self.description} (or not on PATH)") from exc
        except subprocess.TimeoutExpired as exc:
            raise PlgError(f"'{shlex.join(argv)}' did not finish within {timeout:.0f} s") from exc
        return CommandResult(tuple(argv), done.returncode, done.stdout, done.stderr)


class SshPlgHost(PlgHostBase):
    """The PLG files are on another machine, reached with paramiko (key auth, known host keys only)."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 22,
        user: str,
        key_path: str = "",
        known_hosts: str = "",
        timeout: float = 15.0,
    ) -> None:
        self.host, self.port, self.user = host, port, user
        self.key_path, self.known_hosts, self.timeout = key_path, known_hosts, timeout
        self.description = f"PLG host {user}@{host}:{port}"
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> SshPlgHost:
        self.connect()
        return self

    def connect(self) -> None:
        if self._client is not None:
            return
        if not self.host or not self.user:
            raise PlgConnectionError("IXNODE_PLG_MODE=ssh needs IXNODE_PLG_SSH_HOST and IXNODE_PLG_SSH_USER")
        if self.key_path:
            # Same rule as the VM SSH client: the key must be ours and readable by us only (600 or 400).

            try:
                check_key_file(self.key_path)
            except SSHConfigError as exc:
                raise PlgConnectionError(f"IXNODE_PLG_SSH_KEY: {exc}") from exc
        client = paramiko.SSHClient()
        try:
            if self.known_hosts:
                client.load_host_keys(self.known_hosts)
            else:
                client.load_system_host_keys()
        except OSError as exc:
            raise PlgConnectionError(f"cannot read known_hosts {self.known_hosts}: {exc}") from exc
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.user,
                key_filename=self.key_path or None,
                look_for_keys=not self.key_path,
                allow_agent=False,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
            )
            self._sftp = client.open_sftp()
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise PlgConnectionError(
                f"{self.description}: host key does not match known_hosts (possible MITM): {exc}"
            ) from exc
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise PlgConnectionError(
                    f"{self.description}: host key unknown; add it to {self.known_hosts or '~/.ssh/known_hosts'} "
                    f"(ssh-keyscan -p {self.port} {self.host})"
                ) from exc
            raise PlgConnectionError(f"{self.description}: SSH failed: {exc}") from exc
        except (TimeoutError, OSError) as exc:
            client.close()
            raise PlgConnectionError(f"{self.description}: cannot connect: {exc}") from exc
        self._client = client

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def sftp(self) -> paramiko.SFTPClient:
        self.connect()
        assert self._sftp is not None
        return self._sftp

    def _error(self, action: str, path: str, exc: Exception) -> PlgFileError:
        reason = getattr(exc, "strerror", None) or str(exc)
        return PlgFileError(f"{self.description}: cannot {action} {path}: {reason}")

    def read_bytes(self, path: str) -> bytes | None:
        try:
            with self.sftp.open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error("read", path, exc) from exc

    def write_bytes(self, path: str, data: bytes, mode: int | None = None) -> None:
        try:
            with self.sftp.open(path, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(data)
            if mode is not None:
                self.sftp.chmod(path, mode)
        except OSError as exc:
            raise self._error("write", path, exc) from exc

    def rename(self, source: str, target: str) -> None:
        try:
            self.sftp.posix_rename(source, target)
        except OSError as exc:
            raise self._error("rename", f"{source} to", exc) from exc

    def remove(self, path: str) -> None:
        try:
            self.sftp.remove(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._error("delete", path, exc) from exc

    def mode(self, path: str) -> int | None:
        try:
            return (self.sftp.stat(path).st_mode or 0) & 0o7777
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error("stat", path, exc) from exc

    def makedirs(self, path: str) -> None:
        if not path or path == "/":
            return
        if self.mode(path) is not None:
            return
        self.makedirs(posixpath.dirname(path.rstrip("/")))
        try:
            self.sftp.mkdir(path)
        except OSError as exc:
            if self.mode(path) is None:
                raise self._error("create directory", path, exc) from exc

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(self.sftp.listdir(path))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._error("list", path, exc) from exc

    def run(self, argv: Sequence[str], timeout: float = 60.0) -> CommandResult:
        self.connect()
        assert self._client is not None
        command = shlex.join(argv)
        try:
            _stdin, stdout, stderr = self._client.exec_command(command, timeout=timeout)
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            code = stdout.channel.recv_exit_status()
        except (TimeoutError, paramiko.SSHException, OSError) as exc:
            raise PlgError(f"{self.description}: '{command}' failed to run: {exc}") from exc
        if code == 127:
            raise PlgError(f"'{argv[0]}' is not installed on the {self.description} (or not on PATH): {err.strip()}")
        return CommandResult(tuple(argv), code, out, err)


def plg_client() -> PlgHost:
    """The PLG host configured by ``IXNODE_PLG_MODE`` and ``IXNODE_PLG_SSH_*`` (not connected: use it as a context
    manager, ``with plg_client() as host:``): the one way the product builds a PLG client. ``PlgError`` when the mode
    is not ``local`` or ``ssh`` (callers check ``off`` first: nothing is published then)."""
    mode = settings.IXNODE_PLG_MODE
    if mode == "local":
        return LocalPlgHost()
    if mode == "ssh":
        return SshPlgHost(
            host=settings.IXNODE_PLG_SSH_HOST,
            port=settings.IXNODE_PLG_SSH_PORT,
            user=settings.IXNODE_PLG_SSH_USER,
            key_path=settings.IXNODE_PLG_SSH_KEY,
            known_hosts=settings.IXNODE_PLG_SSH_KNOWN_HOSTS,
        )
    if mode == "off":
        raise PlgError("Publishing is off (IXNODE_PLG_MODE=off): there is no PLG host to read or write; set "
                       "IXNODE_PLG_MODE=local or ssh to publish.")
    raise PlgError(f"IXNODE_PLG_MODE must be 'local', 'ssh' or 'off', got {mode!r}")
