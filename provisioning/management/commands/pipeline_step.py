"""``manage.py pipeline_step --run <id> --step <name>``: run one stage of a run (the Jenkins job's stages)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from events.models import ScaleEvent
from ixnode.registry import registry
from provisioning.runner import run_one_step
from provisioning.stages import stage_names


class Command(BaseCommand):
    help = (
        "Run one named stage of a scale run (what each stage of the service's Jenkins job calls). On failure the "
        "run is rolled back and the command exits non-zero, which fails the Jenkins stage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, required=True, help="ScaleEvent id (the job's EVENT_ID parameter)")
        parser.add_argument("--step", required=True, help="stage name, e.g. clone or f5_add")

    def handle(self, *args, run: int, step: str, **options):
        event = ScaleEvent.objects.filter(pk=run).first()
        if event is None:
            raise CommandError(f"No scale event {run}.")
        names = stage_names(event.action)
        steps = registry.stages_for_step(event.action, step)
        unknown = [s for s in steps if s not in names]
        if unknown:
            raise CommandError(f"Unknown step '{step}' for a {event.action} run; steps are: {', '.join(names)}.")
        for name in steps:
            try:
                ok, event = run_one_step(run, name)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            if not ok:
                raise CommandError(
                    f"Step '{name}' of run {run} failed; the run is {event.status}. {event.error}\n"
                    f"Rolled back: {event.rollback_summary}"
                )
            self.stdout.write(f"run {run}: step {name} succeeded (run is {event.status})")
