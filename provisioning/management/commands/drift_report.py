"""``manage.py drift_report [service ...] [--json]``: vCenter VMs vs Prometheus targets vs F5 members."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from autoscaling.models import AutoscalingConfig
from autoscaling.selectors import config_missing_text
from ixnode.management.base import OperatorCommand
from provisioning.drift import drift_report


class Command(OperatorCommand):
    help = gettext_noop("Read-only drift report of autoscaled services; exits 1 when drift was found or a source "
                        "was unreadable.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("services", nargs="*", help=_("service names (default: every config)"))
        parser.add_argument("--json", action="store_true", dest="as_json", help=_("print JSON"))

    def handle(self, *args: Any, services: list[str], as_json: bool = False, **options: Any) -> None:
        configs = AutoscalingConfig.objects.select_related("template").all()
        if services:
            configs = configs.filter(service_name__in=services)
            missing = set(services) - set(configs.values_list("service_name", flat=True))
            if missing:
                raise CommandError(config_missing_text(names=sorted(missing)))
        reports = [drift_report(config=config) for config in configs]
        if as_json:
            self.stdout.write(json.dumps([r.as_dict() for r in reports], indent=2))  # English, for scripts
        else:
            for report in reports:
                self.stdout.write(
                    (_("%(service)s: clean — %(vms)d autoscaled VM(s), %(targets)d target(s), %(members)d F5 "
                       "member(s)") if report.clean else
                     _("%(service)s: DRIFT — %(vms)d autoscaled VM(s), %(targets)d target(s), %(members)d F5 "
                       "member(s)"))
                    % {"service": report.service, "vms": len(report.vms), "targets": len(report.targets),
                       "members": len(report.members)})
                for finding in report.findings:
                    # the kind is a code, as in the JSON
                    self.stdout.write(f"  {finding.kind}: {finding.subject} — {finding.shown_detail()}")
                for error in report.errors:
                    self.stdout.write("  " + _("unreadable: %(error)s") % {"error": error})
        if any(not r.clean for r in reports):
            raise SystemExit(1)
