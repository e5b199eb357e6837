"""``manage.py policy_schedule [--interval SECONDS]``: set the evaluation loop's django-q2 schedule."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ixnode.management.base import OperatorCommand
from policies.services import policy_schedule_sync


class Command(OperatorCommand):
    help = gettext_noop("Create or update the django-q2 schedule that evaluates scaling policies, to run every "
            "IXNODE_POLICY_INTERVAL seconds (or --interval). migrate does this too.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=int, help=_("Seconds between evaluations (a multiple of 60)."))

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            schedule = policy_schedule_sync(interval_seconds=opts["interval"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_("%(name)s: %(func)s every %(minutes)s min (next run %(next)s).")
                          % {"name": schedule.name, "func": schedule.func, "minutes": schedule.minutes,
                             "next": f"{schedule.next_run:%Y-%m-%d %H:%M:%S %Z}"})
