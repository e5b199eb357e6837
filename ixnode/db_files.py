"""The SQLite database's files are private: the database file and its ``-wal`` / ``-shm`` files mode 600.

They hold API tokens, password hashes and sessions. SQLite creates a new database file with the process's umask
(usually 644) and its ``-wal`` / ``-shm`` files with the database file's mode, so the file is created 600 before
SQLite opens it (``sqlite_file_precreate``, from the settings) and every new connection tightens whatever is
looser, for databases created by an older version or copied in (``sqlite_files_protect``, on
``connection_created``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the settings import this module: no Django database module at run time
    from django.db.backends.base.base import BaseDatabaseWrapper

SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def sqlite_file_precreate(path: Path) -> None:
    """Create the (empty) database file mode 600 unless it exists; an empty file is an empty SQLite database."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


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
