"""``python manage.py render_artifacts <serviceName> --output-dir DIR``: write every artifact of one service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from artifacts.services import artifacts_render
from autoscaling.models import AutoscalingConfig
from autoscaling.selectors import config_missing_text
from ixnode.management.base import OperatorCommand


class Command(OperatorCommand):
    help = gettext_noop(
        "Render every generated artifact of one service (Prometheus scrape job, targets file, alert rules, "
        "Alertmanager route and receiver, Grafana dashboard, Jenkins job XML) into a directory, for operators "
        "who deploy by hand. Nothing is published."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("service_name", help=_("serviceName of the autoscaling config"))
        parser.add_argument("--output-dir", required=True, help=_("directory to write the files to (created)"))
        parser.add_argument(
            "--mask-secrets", action="store_true", help=_("write ******** instead of the webhook bearer token")
        )

    def handle(self, *args, service_name: str, output_dir: str, mask_secrets: bool,
               **options: Any) -> None:
        config = AutoscalingConfig.objects.filter(service_name=service_name).first()
        if config is None:
            raise CommandError(config_missing_text(names=[service_name]))
        directory = Path(output_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(_("cannot create %(path)s: %(error)s") % {"path": directory, "error": exc.strerror}) \
                from exc
        files = artifacts_render(config=config, mask_secrets=mask_secrets)
        for name, text in files.items():
            path = directory / name
            try:
                path.write_text(text)
            except OSError as exc:
                raise CommandError(_("cannot write %(path)s: %(error)s") % {"path": path, "error": exc.strerror}) \
                    from exc
            self.stdout.write(str(path))
        self.stdout.write(self.style.SUCCESS(_("%(count)d artifact(s) of %(name)s written to %(path)s")
                                             % {"count": len(files), "name": service_name, "path": directory}))
