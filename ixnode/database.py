"""The database in use, as an operator reads it (the setup summary, command messages)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _


def database_line() -> str:
    """The SQLite file, or the server's vendor, host, port and database name (never the password)."""
    params = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return _("SQLite %(path)s") % {"path": params["NAME"]}
    return f"{connection.vendor} {params.get('HOST') or 'localhost'}:{params.get('PORT') or ''}/{params.get('NAME')}"
