"""``manage.py ensure_schedules``: create or update the product's django-q2 schedules (idempotent).

Chosen over a data migration because the interval comes from the environment
(``IXNODE_RECONCILE_INTERVAL_MINUTES``) and must follow it on every start; ``make run`` calls it before
starting the cluster. It also runs one reconcile at once (``--no-reconcile`` to skip), so a run whose worker
died with the previous cluster is rolled back as the new cluster starts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_q.models import Schedule

from ixnode.management.base import OperatorCommand
from provisioning.reconcile import pipeline_reconcile

RECONCILE_SCHEDULE = "ixnode-pipelines-reconcile"


def schedules_ensure() -> list[str]:

    Schedule.objects.update_or_create(
        name=RECONCILE_SCHEDULE,
        defaults={
            "func": "provisioning.tasks.pipeline_reconcile_task",
            "schedule_type": Schedule.MINUTES,
            "minutes": max(1, settings.IXNODE_RECONCILE_INTERVAL_MINUTES),
            "repeats": -1,
        },
    )
    return [RECONCILE_SCHEDULE]


class Command(OperatorCommand):
    help = gettext_noop("Create or update the django-q2 schedules (pipeline reconcile) and reconcile once.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-reconcile", action="store_true", help=_("only ensure the schedules"))

    def handle(self, *args: Any, no_reconcile: bool = False, **options: Any) -> None:
        for name in schedules_ensure():
            self.stdout.write(_("schedule %(name)s ensured") % {"name": name})
        if not no_reconcile:
            report = pipeline_reconcile()
            self.stdout.write(
                _("reconcile: rolled back %(rolled_back)s, failed queued %(failed_queued)s")
                % {"rolled_back": report.rolled_back or _("none"), "failed_queued": report.failed_queued or _("none")}
            )
