"""SSH to VMs (paramiko): key-file login, configurable host-key policy, commands, atomic file upload.

Host-key policies (``IXNODE_SSH_HOST_KEY_POLICY``):

- ``reject`` (default): the server's key must already be known — from ``IXNODE_SSH_KNOWN_HOSTS`` or the
  user's/system's known_hosts; an unknown host is refused.
- ``known_hosts-file``: like ``reject`` but only ``IXNODE_SSH_KNOWN_HOSTS`` counts.
- ``accept-new``: an unknown host's key is trusted on first use and appended to ``IXNODE_SSH_KNOWN_HOSTS``;
  a *changed* key is still refused (call ``ssh_known_host_forget`` when a VM is destroyed so a new VM on
  the same address is not mistaken for an attacker).

The client implements :class:`~ixnode.integrations.ssh.interface.SSH` and is built by ``ssh_client()`` (the one way).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import posixpath
import secrets
import shlex
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import paramiko
from django.conf import settings

from ixnode.integrations.ssh.interface import (
    SSH,
    CommandResult,
    SSHAuthError,
    SSHCommandFailed,
    SSHConfigError,
    SSHError,
    SSHHostKeyError,
    SSHUnavailable,
)

__all__ = [
    "SSHClient",
    "SSHCommandFailed",
    "SSHConfigError",
    "SSHError",
    "SSHHostKeyError",
    "SSHSettings",
    "SSHUnavailable",
    "check_key_file",
    "load_private_key",
    "ssh_client",
    "ssh_known_host_forget",
]

logger = logging.getLogger(__name__)

POLICIES = ("reject", "known_hosts-file", "accept-new")
POLICY_ALIASES = {"known_hosts": "known_hosts-file", "known-hosts-file": "known_hosts-file", "accept_new": "accept-new"}


# ---------------------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class SSHSettings:
    host_key_policy: str = "reject"
    known_hosts_path: str = ""
    connect_timeout: float = 10.0
    command_timeout: float = 300.0

    @classmethod
    def from_django(cls) -> SSHSettings:
        """The IXNODE_SSH_* settings."""
        return cls(
            host_key_policy=str(getattr(settings, "IXNODE_SSH_HOST_KEY_POLICY", "reject")),
            known_hosts_path=str(getattr(settings, "IXNODE_SSH_KNOWN_HOSTS", "")),
            connect_timeout=float(getattr(settings, "IXNODE_SSH_CONNECT_TIMEOUT", 10.0)),
            command_timeout=float(getattr(settings, "IXNODE_SSH_COMMAND_TIMEOUT", 300.0)),
        )

    @property
    def policy(self) -> str:
        policy = POLICY_ALIASES.get(self.host_key_policy, self.host_key_policy)
        if policy not in POLICIES:
            raise SSHConfigError(
                f"IXNODE_SSH_HOST_KEY_POLICY must be one of {', '.join(POLICIES)}, got {self.host_key_policy!r}."
            )
        return policy


# ---------------------------------------------------------------------------------------------------------
# Known hosts


def _known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ssh_known_host_forget(*, host: str, port: int = 22, known_hosts_path: str | os.PathLike[str] | None = None) -> int:
    """Remove ``host``'s keys from the known_hosts file (a VM on that address was destroyed). Returns lines removed."""
    path = Path(known_hosts_path or SSHSettings.from_django().known_hosts_path)
    if not path.exists():
        return 0
    names = {_known_hosts_name(host, port)}
    with _locked(path):
        lines = path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not names & set(line.split(" ", 1)[0].split(","))]
        if len(kept) != len(lines):
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
            tmp.write_text("".join(kept))
            os.replace(tmp, path)
    return len(lines) - len(kept)


class _AcceptNewPolicy(paramiko.MissingHostKeyPolicy):
    """Trust an unknown host's key on first use and append it to the known_hosts file (under a file lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        with _locked(self.path):
            with open(self.path, "a") as handle:
                handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
            os.chmod(self.path, 0o600)
        client.get_host_keys().add(hostname, key.get_name(), key)
        logger.info("SSH: trusted new host key of %s (%s) and saved it to %s", hostname, key.get_name(), self.path)


class _RejectPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, path: Path, policy: str) -> None:
        self.path = path
        self.policy = policy

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise SSHHostKeyError(
            f"SSH host key of {hostname} is unknown ({key.get_name()} {key.get_fingerprint().hex()}) and "
            f"IXNODE_SSH_HOST_KEY_POLICY={self.policy}: add it to {self.path} (e.g. ssh-keyscan >> {self.path}) "
            "or use the accept-new policy for freshly cloned VMs."
        )


# ---------------------------------------------------------------------------------------------------------
# Client


def check_key_file(path: str | os.PathLike[str]) -> Path:
    """The private key must exist, be a regular file owned by us, and be readable by us only (600 or 400)."""
    if not str(path):
        raise SSHConfigError("No SSH key configured: set the config's SSH key path.")
    key = Path(path)
    try:
        info = key.stat()
    except FileNotFoundError as exc:
        raise SSHConfigError(f"SSH key file {key} does not exist.") from exc
    except PermissionError as exc:
        raise SSHConfigError(f"SSH key file {key} cannot be read by this process: {exc}.") from exc
    if not stat.S_ISREG(info.st_mode):
        raise SSHConfigError(f"SSH key path {key} is not a regular file.")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077 or not mode & 0o400:
        raise SSHConfigError(
            f"SSH key file {key} has mode {mode:03o}; private keys must be readable by their owner only: "
            f"run chmod 600 {key}."
        )
    if info.st_uid != os.geteuid():
        raise SSHConfigError(
            f"SSH key file {key} is owned by uid {info.st_uid}, not by this process (uid {os.geteuid()})."
        )
    return key


def load_private_key(path: str | os.PathLike[str]) -> paramiko.PKey:
    """Check and load the private key (any type paramiko supports; no passphrase)."""
    key_path = check_key_file(path)
    try:
        return paramiko.PKey.from_path(key_path)
    except paramiko.PasswordRequiredException as exc:
        raise SSHConfigError(f"SSH key file {key_path} is protected by a passphrase; use a key without one.") from exc
    except (paramiko.SSHException, ValueError, OSError) as exc:
        raise SSHConfigError(
            f"SSH key file {key_path} cannot be loaded ({exc}); use an OpenSSH/PEM private key."
        ) from exc


class SSHClient:
    """One SSH connection to one host. Use as a context manager, or call ``connect()`` / ``close()``."""

    def __init__(
        self,
        *,
        host: str,
        user: str,
        key_path: str | os.PathLike[str],
        port: int = 22,
        settings: SSHSettings | None = None,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.user = user
        self.key_path = str(key_path)
        self.settings = settings or SSHSettings.from_django()
        self._client: paramiko.SSHClient | None = None

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def check_key(self) -> None:
        load_private_key(self.key_path)

    def __enter__(self) -> SSHClient:
        return self.connect()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- connect -----------------------------------------------------------------------------------
    def _new_client(self) -> paramiko.SSHClient:
        policy = self.settings.policy
        known_hosts = Path(self.settings.known_hosts_path) if self.settings.known_hosts_path else None
        if policy in ("known_hosts-file", "accept-new") and known_hosts is None:
            raise SSHConfigError(f"IXNODE_SSH_HOST_KEY_POLICY={policy} needs IXNODE_SSH_KNOWN_HOSTS (a file path).")
        client = paramiko.SSHClient()
        if policy == "reject":
            with contextlib.suppress(OSError):
                client.load_system_host_keys()
            with contextlib.suppress(OSError):
                client.load_system_host_keys("/etc/ssh/ssh_known_hosts")
        if known_hosts is not None and known_hosts.exists():
            # Loaded as "system" keys so paramiko never rewrites the file; we append to it under a lock.
            try:
                client.load_system_host_keys(str(known_hosts))
            except (OSError, paramiko.SSHException) as exc:
                raise SSHConfigError(f"known_hosts file {known_hosts} cannot be read: {exc}") from exc
        if policy == "accept-new" and known_hosts is not None:  # (checked above: accept-new needs the file)
            client.set_missing_host_key_policy(_AcceptNewPolicy(known_hosts))
        else:
            client.set_missing_host_key_policy(_RejectPolicy(known_hosts or Path("~/.ssh/known_hosts"), policy))
        return client

    def _connect_once(self) -> paramiko.SSHClient:
        key = load_private_key(self.key_path)
        client = self._new_client()
        timeout = self.settings.connect_timeout
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.user,
                pkey=key,
                look_for_keys=False,
                allow_agent=False,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
            )
        except SSHError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            name = _known_hosts_name(self.host, self.port)
            raise SSHHostKeyError(
                f"SSH host key of {self.where} CHANGED (got {exc.key.get_name()} "
                f"{exc.key.get_fingerprint().hex()}). "
                f"If the VM on this address was re-created, remove the old key: ssh-keygen -R '{name}' -f "
                f"{self.settings.known_hosts_path or '~/.ssh/known_hosts'}; otherwise investigate."
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise SSHAuthError(
                f"SSH login {self.where} with key {self.key_path} was refused: install the public key in the "
                f"user's authorized_keys (in the template) or fix the config's SSH user. ({exc})"
            ) from exc
        except TimeoutError as exc:
            client.close()
            raise SSHUnavailable(
                f"SSH to {self.where} timed out after {timeout:g}s (IXNODE_SSH_CONNECT_TIMEOUT)."
            ) from exc
        except (OSError, paramiko.SSHException, EOFError) as exc:
            client.close()
            raise SSHUnavailable(f"SSH to {self.where} failed: {exc or type(exc).__name__}.") from exc
        return client

    def connect(self, *, wait: float = 0.0, interval: float = 1.0) -> SSHClient:
        """Connect; with ``wait`` > 0 keep retrying while the host is unreachable (booting VM, new address)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self._client = self._connect_once()
                return self
            except SSHUnavailable as exc:
                if time.monotonic() + interval > deadline:
                    if wait > 0:
                        raise SSHUnavailable(f"{exc.message} Still unreachable after waiting {wait:g}s.") from exc
                    raise
                time.sleep(interval)

    @property
    def client(self) -> paramiko.SSHClient:
        if self._client is None:
            self.connect()
        return self._client  # type: ignore[return-value]

    # --- commands ----------------------------------------------------------------------------------
    def run(
        self, command: str, *, timeout: float | None = None, check: bool = True, stdin: bytes | None = None
    ) -> CommandResult:
        """Run ``command`` through the remote login shell; raise ``SSHCommandFailed`` on non-zero when ``check``.

        A connection that drops mid-command raises ``SSHUnavailable``.
        """
        limit = self.settings.command_timeout if timeout is None else timeout
        stdout, stderr = bytearray(), bytearray()
        try:
            channel = self._channel(f"run '{command}'")
            channel.exec_command(command)
            if stdin is not None:
                channel.sendall(stdin)
            channel.shutdown_write()
            deadline = time.monotonic() + limit
            while True:
                if channel.recv_ready():
                    stdout += channel.recv(65536)
                    continue
                if channel.recv_stderr_ready():
                    stderr += channel.recv_stderr(65536)
                    continue
                if channel.exit_status_ready() or channel.closed:
                    break
                if not channel.get_transport().is_active():
                    raise SSHUnavailable(f"SSH connection to {self.where} dropped while running '{command}'.")
                if time.monotonic() > deadline:
                    channel.close()
                    raise SSHCommandFailed(f"'{command}' on {self.where} did not finish within {limit:g}s.")
                time.sleep(0.01)
            while channel.recv_ready() or channel.recv_stderr_ready():
                stdout += channel.recv(65536) if channel.recv_ready() else b""
                stderr += channel.recv_stderr(65536) if channel.recv_stderr_ready() else b""
            status = channel.recv_exit_status() if channel.exit_status_ready() else -1
            channel.close()
        except SSHError:
            raise
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise SSHUnavailable(f"SSH connection to {self.where} failed while running '{command}': {exc}") from exc
        if status == -1:
            raise SSHUnavailable(f"SSH connection to {self.where} closed before '{command}' reported its exit status.")
        result = CommandResult(command, status, stdout.decode(errors="replace"), stderr.decode(errors="replace"))
        if check and not result.ok:
            detail = (result.stderr or result.stdout).strip()[-500:]
            raise SSHCommandFailed(
                f"'{command}' on {self.where} exited with {status}: {detail or '(no output)'}", result=result
            )
        return result

    # --- files -------------------------------------------------------------------------------------
    def upload(self, content: bytes | str, remote_path: str, *, mode: int = 0o644, sudo: bool = False) -> None:
        """Write ``remote_path`` atomically: a temporary file in the same directory, then a rename.

        With ``sudo`` the file is staged in the user's temp dir over SFTP and moved into place with
        ``sudo -n install`` + ``mv`` (for root-owned paths such as /etc/netplan).
        """
        data = content.encode() if isinstance(content, str) else content
        directory, name = posixpath.split(remote_path)
        tmp_name = f".{name}.ixnode-{secrets.token_hex(6)}"
        sftp = self._sftp()
        try:
            if not sudo:
                tmp = posixpath.join(directory or ".", tmp_name)
                try:
                    with sftp.open(tmp, "wb") as handle:
                        handle.write(data)
                    sftp.chmod(tmp, mode)
                    sftp.posix_rename(tmp, remote_path)
                except OSError as exc:
                    with contextlib.suppress(OSError):
                        sftp.remove(tmp)
                    raise SSHCommandFailed(f"writing {remote_path} on {self.where} failed: {exc}") from exc
                return
            staged = posixpath.join("/tmp", tmp_name)  # noqa: S108 - remote temp file, removed below
            try:
                with sftp.open(staged, "wb") as handle:
                    handle.write(data)
            except OSError as exc:  # a full /tmp, or a transfer that stalled past IXNODE_SSH_COMMAND_TIMEOUT
                raise SSHCommandFailed(f"writing {staged} on {self.where} failed: {exc or type(exc).__name__}") \
                    from exc
        finally:
            sftp.close()
        target_tmp = posixpath.join(directory or ".", tmp_name)
        q = shlex.quote
        self.run(
            f"sudo -n install -m {mode:o} -o root -g root {q(staged)} {q(target_tmp)} && "
            f"sudo -n mv -f {q(target_tmp)} {q(remote_path)}; status=$?; rm -f {q(staged)}; exit $status"
        )

    def _channel(self, purpose: str) -> paramiko.Channel:
        """A new session channel on the open connection (``SSHUnavailable`` naming ``purpose`` if it is closed)."""
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise SSHUnavailable(f"SSH connection to {self.where} is closed; cannot {purpose}.")
        return transport.open_session(timeout=self.settings.connect_timeout)

    def _sftp(self) -> paramiko.SFTPClient:
        """An SFTP session whose every operation (the handshake included) is bounded by IXNODE_SSH_COMMAND_TIMEOUT:
        paramiko's own ``open_sftp()`` waits forever on a server whose SFTP subsystem never answers."""
        limit = self.settings.command_timeout
        try:
            channel = self._channel("open SFTP")
            channel.settimeout(limit)
            channel.invoke_subsystem("sftp")
            return paramiko.SFTPClient(channel)
        except TimeoutError as exc:
            raise SSHUnavailable(
                f"SFTP on {self.where} did not answer within {limit:g}s (IXNODE_SSH_COMMAND_TIMEOUT): the server's "
                "SFTP subsystem is stuck or missing."
            ) from exc
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise SSHUnavailable(f"SFTP to {self.where} failed: {exc or type(exc).__name__}") from exc

    def read_file(self, remote_path: str) -> bytes:
        sftp = self._sftp()
        try:
            try:
                with sftp.open(remote_path, "rb") as handle:
                    return handle.read()
            finally:
                sftp.close()
        except FileNotFoundError:
            raise
        except (OSError, paramiko.SSHException) as exc:
            raise SSHUnavailable(f"reading {remote_path} on {self.where} failed: {exc}") from exc


def ssh_client(*, host: str, user: str, key_path: str | os.PathLike[str], port: int = 22) -> SSH:
    """An SSH connection to ``user@host:port`` with the private key at ``key_path`` (not connected yet), with the
    host-key policy and timeouts of the IXNODE_SSH_* settings: the one way the product builds an SSH client."""
    return SSHClient(host=host, user=user, key_path=key_path, port=port)
