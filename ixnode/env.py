"""Typed readers for settings that come from the environment."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def private_file_check(path: Path, what: str) -> None:
    """Refuse a secrets file that other users can read (group/other bits set) or that another user owns."""
    info = path.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ImproperlyConfigured(
            f"{path} ({what}) is readable by other users (mode {stat.S_IMODE(info.st_mode):o}): chmod 600 {path}"
        )
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise ImproperlyConfigured(f"{path} ({what}) belongs to another user (uid {info.st_uid}): chown it or set "
                                   "the variables in the environment instead")


def persisted_secret(path: Path) -> str:
    """Read a generated secret from ``path`` (mode 600), creating it on first use."""
    if path.exists():
        private_file_check(path, "generated secret")
        value = path.read_text().strip()
        if value:
            return value
        raise ImproperlyConfigured(f"{path} is empty: delete it to have a new secret generated")
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile: use theirs
        return persisted_secret(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


ENV_FILE_VARIABLE = "IXNODE_ENV_FILE"


def env_file_load(base_dir: Path) -> Path | None:
    """Read ``.env`` (or the file named by IXNODE_ENV_FILE; set it empty for none) into ``os.environ``.

    Variables already in the environment win over the file, so ``PORT=8130 make run`` still overrides it.
    The file may hold passwords: like every secrets file it must be mode 600. Returns the file read, if any.
    """
    configured = os.environ.get(ENV_FILE_VARIABLE)
    if configured is not None and not configured.strip():
        return None
    path = Path(configured) if configured else base_dir / ".env"
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        if configured:
            raise ImproperlyConfigured(f"{ENV_FILE_VARIABLE}={configured}: no such file")
        return None
    private_file_check(path, "settings file")
    load_dotenv(path, override=False, interpolate=True, encoding="utf-8")
    return path


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it mode 700: it holds the database, secrets and keys."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path
