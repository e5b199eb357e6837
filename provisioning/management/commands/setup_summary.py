"""``manage.py setup_summary``: where the app runs, how to log in, and the setup checklist (what is on, what is
off and the setting that turns it on). ``make run`` prints it once the web server answers."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext as _

from ixnode.database import database_line
from provisioning.diagnostics import CheckResult, setup_checklist

MARKS = {"ok": "[ok]  ", "bad": "[off] ", "unknown": "[--]  "}


class Command(BaseCommand):
    help = "Print the URL, the login and the setup checklist (integrations reachable, settings that are off)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default="", help="URL the web server listens on (default: IXNODE_PUBLIC_URL).")
        parser.add_argument("--password-printed-above", action="store_true",
                            help="The admin user was created just now with a generated password, printed above.")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(settings.LANGUAGE_CODE):
            self.report(url=(options["url"] or settings.IXNODE_PUBLIC_URL).rstrip("/"),
                        password_printed_above=options["password_printed_above"])

    def report(self, *, url: str, password_printed_above: bool = False) -> None:
        lines: list[str] = []  # written at once: the checks' own requests show up in the server's access log
        write = lines.append
        username = os.environ.get("IXNODE_ADMIN_USER", "admin").strip() or "admin"
        exists = get_user_model().objects.filter(username=username).exists()
        write("")
        write(self.style.SUCCESS(_("IXNode Autoscaling is running: %(url)s/") % {"url": url}))
        indent = "  "
        write(indent + _("Log in at %(url)s/accounts/login/ as '%(user)s'") % {"url": url, "user": username})
        if exists and password_printed_above:
            write(indent + _("(password: the one generated just now, printed once above after the migrations: "
                             "'created admin user … with generated password'; change it with .venv/bin/python "
                             "manage.py changepassword %(user)s)") % {"user": username})
        elif exists:
            write(indent + _("(password: IXNODE_ADMIN_PASSWORD, or the one printed when the user was created; "
                             "change it with .venv/bin/python manage.py changepassword %(user)s)") % {"user": username})
        write(indent + _("Admin: %(url)s/admin/   API: %(url)s/api/docs/") % {"url": url})
        env_file = getattr(settings, "ENV_FILE", None)
        write(indent + (_("Settings: the environment and %(file)s") % {"file": env_file} if env_file else
                        _("Settings: the environment (no .env file: copy .env.example to .env, chmod 600 .env)")))
        write(indent + _("Database: %(db)s; background tasks: %(broker)s") % {
            "db": database_line(),
            "broker": _("Redis %(url)s") % {"url": settings.IXNODE_REDIS_URL} if settings.IXNODE_REDIS_URL
            else _("the database (ORM broker)")})
        write("")
        write(_("Setup checklist:"))
        results = setup_checklist()
        for result in results:
            lines.extend(self.lines(result))
        off = [r for r in results if r.ok is not True]
        write("")
        if off:
            write(_("%(off)d of %(total)d items are off or unreachable: each line above names the setting that "
                    "turns it on (in the environment or .env; restart make run after changing it).")
                  % {"off": len(off), "total": len(results)})
        else:
            write(_("Everything is configured and reachable."))
        self.stdout.write("\n".join(lines))

    def lines(self, result: CheckResult) -> list[str]:
        mark = MARKS[result.state]
        style = {"ok": self.style.SUCCESS, "bad": self.style.WARNING}.get(result.state, str)
        out = [style(f"  {mark}{result.title}: {result.detail}")]
        if result.ok is not True and result.fix:
            out.append(f"         → {result.fix}")
        return out
