"""The lock that serialises read-modify-write of the PLG files (configs, rules, targets) on this control plane."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings


@contextlib.contextmanager
def publish_lock() -> Iterator[None]:
    """Serialise read-modify-write of the PLG files between workers of this control plane."""
    path = Path(settings.VAR_DIR) / "plg-publish.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
