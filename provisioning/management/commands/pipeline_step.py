"""``manage.py pipeline_step --run <id> --step <name>``: run one stage of a run (the Jenkins job's stages)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from events.models import ScaleEvent
from ixnode.management.base import OperatorCommand
from ixnode.registry import registry
from provisioning.runner import run_one_step
from provisioning.stages import stage_names


class Command(OperatorCommand):
    help = gettext_noop(
        "Run one named stage of a scale run (what each stage of the service's Jenkins job calls). On failure the "
        "run is rolled back and the command exits non-zero, which fails the Jenkins stage."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--run", type=int, required=True, help=_("ScaleEvent id (the job's EVENT_ID parameter)"))
        parser.add_argument("--step", required=True, help=_("stage name, e.g. clone or f5_add"))

    def handle(self, *args: Any, run: int, step: str, **options: Any) -> None:
        event = ScaleEvent.objects.filter(pk=run).first()
        if event is None:
            raise CommandError(_("No scale event %(run)s.") % {"run": run})
        names = stage_names(event.action)
        steps = registry.stages_for_step(event.action, step)
        unknown = [s for s in steps if s not in names]
        if unknown:
            raise CommandError(_("Unknown step '%(step)s' for a %(action)s run; steps are: %(steps)s.")
                               % {"step": step, "action": event.action, "steps": ", ".join(names)})
        for name in steps:
            try:
                ok, event = run_one_step(run, name)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            if not ok:
                raise CommandError(
                    _("Step '%(step)s' of run %(run)s failed; the run is %(status)s. %(error)s\n"
                      "Rolled back: %(rollback)s")
                    % {"step": name, "run": run, "status": event.status, "error": event.error,
                       "rollback": event.rollback_summary}
                )
            self.stdout.write(_("run %(run)s: step %(step)s succeeded (run is %(status)s)")
                              % {"run": run, "step": name, "status": event.status})
