"""What ``manage.py`` says instead of a traceback when a command meets a database it cannot use: one that has not
been migrated yet (a command run before ``make run`` or ``migrate``), or one it cannot reach (``DATABASE_URL``)."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, OperationalError, ProgrammingError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation
from django.utils.translation import gettext as _

from ixnode.database import database_line


def unapplied_migrations() -> int | None:
    """How many migrations the database lacks; None when that cannot be read (the database is unreachable)."""
    try:
        executor = MigrationExecutor(connection)
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return None


#: The database errors ``manage.py`` answers with :func:`database_error_message`: a database that cannot be reached
#: or lacks tables (not migrated). Others (an IntegrityError from ``loaddata``, a DataError) are about the data and
#: show as they are, with their own message.
SETUP_ERRORS = (OperationalError, ProgrammingError)


def database_error_message(exc: DatabaseError, *, command: str = "") -> str:
    """One paragraph in ``LANGUAGE_CODE``: what is wrong with the database and what to run or set.

    ``command`` is the manage.py subcommand that met the error: when that is ``migrate`` itself, running migrate is
    not the advice."""
    error = " ".join(str(exc).split())  # PostgreSQL's messages span lines
    with translation.override(settings.LANGUAGE_CODE):
        pending = unapplied_migrations()
        if pending and command == "migrate":
            return _(
                "migrate stopped: a migration could not be applied to the database (%(db)s), and %(count)d "
                "migrations are still not applied. The last 'Applying …' line above names the migration that "
                "failed; --traceback shows where. The database said: %(error)s"
            ) % {"db": database_line(), "count": pending, "error": error}
        if pending:
            return _(
                "The database (%(db)s) is not set up yet: %(count)d migrations are not applied. Start make run once "
                "(it migrates the database), or run .venv/bin/python manage.py migrate, then run the command again. "
                "The database said: %(error)s"
            ) % {"db": database_line(), "count": pending, "error": error}
        return _(
            "The database (%(db)s) cannot be used. Check DATABASE_URL (docs/configuration.md) and that the database "
            "server runs and accepts this user. The database said: %(error)s"
        ) % {"db": database_line(), "error": error}
