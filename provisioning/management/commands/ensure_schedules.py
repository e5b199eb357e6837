"""``manage.py ensure_schedules``: create or update the product's django-q2 schedules (idempotent).

Chosen over a data migration because the interval comes from the environment
(``IXNODE_RECONCILE_INTERVAL_MINUTES``) and must follow it on every start; ``make run`` calls it before
starting the cluster. It also runs one reconcile at once (``--no-reconcile`` to skip), so a run whose worker
died with the previous cluster is rolled back as the new cluster starts.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.models import Schedule

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


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules (pipeline reconcile) and reconcile once."

    def add_arguments(self, parser):
        parser.add_argument("--no-reconcile", action="store_true", help="only ensure the schedules")

    def handle(self, *args, no_reconcile: bool = False, **options):
        for name in schedules_ensure():
            self.stdout.write(f"schedule {name} ensured")
        if not no_reconcile:

            report = pipeline_reconcile()
            self.stdout.write(
                f"reconcile: rolled back {report.rolled_back or 'none'}, failed queued {report.failed_queued or 'none'}"
            )
