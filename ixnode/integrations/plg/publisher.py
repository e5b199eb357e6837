"""Publish a set of files to the PLG host as one change: stage, validate, replace, reload, restore on failure.

1. Files whose content is already live are skipped; with nothing to change nothing is written or reloaded.
2. New contents go to temp files next to the live files (same directory: the rename stays atomic and relative
   paths in prometheus.yml resolve the same way).
3. Each temp file is validated on the PLG host with its tool (``promtool check rules|config``,
   ``amtool check-config``). A failure deletes the temps and raises :class:`PlgValidationError` with the tool's
   message; the live files are untouched, byte for byte.
4. The previous content of each file is kept as ``<file>.ixnode-bak``, then temps are renamed over the live files.
5. Prometheus/Alertmanager are reloaded (``POST <url>/-/reload`` or a configured command). A failed reload
   restores every file and reloads again, then raises :class:`PlgReloadError`.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

import requests

from ixnode.integrations.plg.interface import CommandResult, PlgError, PlgHost

logger = logging.getLogger(__name__)

BACKUP_SUFFIX = ".ixnode-bak"
PATH_PLACEHOLDER = "{path}"


class PlgValidationError(PlgError):
    """A rendered file failed promtool/amtool: nothing was replaced."""

    def __init__(self, path: str, result: CommandResult, command: Sequence[str]) -> None:
        self.path, self.result = path, result
        super().__init__(
            f"{shlex.join(command)} rejected the new {path} (exit {result.returncode}); live file kept:\n"
            f"{result.output}"
        )


class PlgReloadError(PlgError):
    """A reload failed: the previous files were restored."""


@dataclass(frozen=True)
class FileUpdate:
    """Desired content of one file (None deletes it) and the command that validates it (``{path}`` → temp)."""

    path: str
    content: bytes | None
    check: tuple[str, ...] = ()
    reloads: tuple[str, ...] = ()  # names of the Reloaders to run when this file changes


@dataclass(frozen=True)
class Reloader:
    """How to make a service re-read its files: an HTTP ``/-/reload`` URL or a command on the PLG host."""

    name: str
    url: str = ""
    command: tuple[str, ...] = ()
    timeout: float = 30.0

    def reload(self, host: PlgHost) -> None:
        if self.command:
            result = host.run(self.command, timeout=self.timeout)
            if not result.ok:
                raise PlgReloadError(
                    f"{self.name} reload command '{shlex.join(self.command)}' failed (exit {result.returncode}): "
                    f"{result.output}"
                )
            return
        url = self.url.rstrip("/") + "/-/reload"
        try:
            response = requests.post(url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PlgReloadError(f"{self.name} at {url} is not reachable for reload: {exc}") from exc
        if response.status_code != 200:
            hint = " (start it with --web.enable-lifecycle)" if response.status_code == 403 else ""
            raise PlgReloadError(
                f"{self.name} rejected the reload ({response.status_code}){hint}: {response.text.strip()[:2000]}"
            )


@dataclass
class PublishResult:
    changed: list[str] = field(default_factory=list)
    reloaded: list[str] = field(default_factory=list)


def _staged_check(check: Sequence[str], temp: str) -> list[str]:
    return [temp if part == PATH_PLACEHOLDER else part for part in check]


def _validate(host: PlgHost, updates: Sequence[FileUpdate], temps: dict[str, str]) -> None:
    """Run each file's check on its temp file. Checks that end in ``{path}`` and share the same command are run
    once with all their files (``promtool check rules a b c``): one process instead of one per service."""
    batches: dict[tuple[str, ...], list[FileUpdate]] = {}
    for update in updates:
        if update.check[-1] == PATH_PLACEHOLDER and PATH_PLACEHOLDER not in update.check[:-1]:
            batches.setdefault(tuple(update.check[:-1]), []).append(update)
        else:
            checked = host.run(_staged_check(update.check, temps[update.path]))
            if not checked.ok:
                raise PlgValidationError(update.path, checked, [p for p in update.check if p != PATH_PLACEHOLDER])
    for command, group in batches.items():
        checked = host.run([*command, *(temps[u.path] for u in group)], timeout=60.0 + len(group) * 0.5)
        if not checked.ok:
            failing = [u.path for u in group if temps[u.path] in checked.output] or [u.path for u in group]
            output = checked.output
            for u in group:
                output = output.replace(temps[u.path], u.path + " (new)")
            result = CommandResult(checked.argv, checked.returncode, output, "")
            raise PlgValidationError(", ".join(failing), result, command)


def publish(host: PlgHost, updates: Sequence[FileUpdate], reloaders: Sequence[Reloader]) -> PublishResult:
    """Apply ``updates`` as one change (see the module docstring). Raises a :class:`PlgError` on failure."""
    by_name = {reloader.name: reloader for reloader in reloaders}
    previous: dict[str, bytes | None] = {}
    pending: list[FileUpdate] = []
    for update in updates:
        old = host.read_bytes(update.path)
        if old == update.content:
            continue
        previous[update.path] = old
        pending.append(update)
    result = PublishResult()
    if not pending:
        return result

    temps: dict[str, str] = {}
    try:
        for update in pending:
            if update.content is None:
                continue
            host.makedirs(posixpath.dirname(update.path))
            temp = host.temp_path(update.path)
            temps[update.path] = temp
            host.write_bytes(temp, update.content, host.mode(update.path) or 0o644)
        _validate(host, [u for u in pending if u.content is not None and u.check], temps)
    except BaseException:
        for temp in temps.values():
            with contextlib.suppress(PlgError):
                host.remove(temp)
        raise

    committed: list[FileUpdate] = []
    try:
        for update in pending:
            old = previous[update.path]
            if old is not None:
                host.write_atomic(update.path + BACKUP_SUFFIX, old)
            if update.content is None:
                host.remove(update.path)
            else:
                host.rename(temps.pop(update.path), update.path)
            committed.append(update)
            result.changed.append(update.path)
        wanted = []
        for update in committed:
            for name in update.reloads:
                if name not in wanted:
                    wanted.append(name)
        for name in wanted:
            by_name[name].reload(host)
            result.reloaded.append(name)
    except BaseException as exc:
        for temp in temps.values():
            with contextlib.suppress(PlgError):
                host.remove(temp)
        restore_errors = _restore(host, committed, previous)
        for name in {n for update in committed for n in update.reloads}:
            try:
                by_name[name].reload(host)
            except PlgError as again:
                restore_errors.append(f"reload after restore: {again}")
        if isinstance(exc, PlgError):
            message = f"{exc}\nThe previous files were restored."
            if restore_errors:
                message += " Restoring had problems: " + "; ".join(restore_errors)
            raise PlgReloadError(message) from exc
        raise
    return result


def _restore(host: PlgHost, committed: list[FileUpdate], previous: dict[str, bytes | None]) -> list[str]:
    errors = []
    for update in reversed(committed):
        old = previous[update.path]
        try:
            if old is None:
                host.remove(update.path)
            else:
                host.write_atomic(update.path, old)
        except PlgError as exc:
            errors.append(str(exc))
            logger.error("could not restore %s: %s", update.path, exc)
    return errors
