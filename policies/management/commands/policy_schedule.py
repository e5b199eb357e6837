"""``manage.py policy_schedule [--interval SECONDS]``: set the evaluation loop's django-q2 schedule."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from policies.services import policy_schedule_sync


class Command(BaseCommand):
    help = ("Create or update the django-q2 schedule that evaluates scaling policies, to run every "
            "IXNODE_POLICY_INTERVAL seconds (or --interval). migrate does this too.")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=int, help="Seconds between evaluations (a multiple of 60).")

    def handle(self, *args, **opts):

        try:
            schedule = policy_schedule_sync(interval_seconds=opts["interval"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{schedule.name}: {schedule.func} every {schedule.minutes} min "
                          f"(next run {schedule.next_run:%Y-%m-%d %H:%M:%S %Z}).")
