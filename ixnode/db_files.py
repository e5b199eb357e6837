"""The SQLite database's files are private: the database file and its ``-wal`` / ``-shm`` files mode 600.

They hold API tokens, password hashes and sessions. SQLite creates a new database file with the process's umask
(usually 644) and recreates its ``-wal`` / ``-shm`` files with the database file's mode, so every new connection
chmods whatever is looser to 600 (``sqlite_files_protect``, on ``connection_created``): a new database right after
SQLite created it (still empty then), and databases created by an older version or copied in. ``var/``, where the
database lives, is mode 700 (``ixnode.env.private_dir``, from the settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def sqlite_files_protect(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: chmod 600 the SQLite database file and its companions."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for suffix in SQLITE_SUFFIXES:
        path = Path(name + suffix)
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except FileNotFoundError:
            continue
