"""``manage.py drift_report [service ...] [--json]``: vCenter VMs vs Prometheus targets vs F5 members."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from autoscaling.models import AutoscalingConfig
from provisioning.drift import drift_report


class Command(BaseCommand):
    help = "Read-only drift report of autoscaled services; exits 1 when drift was found or a source was unreadable."

    def add_arguments(self, parser):
        parser.add_argument("services", nargs="*", help="service names (default: every config)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

    def handle(self, *args, services: list[str], as_json: bool = False, **options):
        configs = AutoscalingConfig.objects.select_related("template").all()
        if services:
            configs = configs.filter(service_name__in=services)
            missing = set(services) - set(configs.values_list("service_name", flat=True))
            if missing:
                raise CommandError(f"No autoscaling config named {', '.join(sorted(missing))}.")
        reports = [drift_report(config=config) for config in configs]
        if as_json:
            self.stdout.write(json.dumps([r.as_dict() for r in reports], indent=2))
        else:
            for report in reports:
                state = "clean" if report.clean else "DRIFT"
                self.stdout.write(f"{report.service}: {state} — {len(report.vms)} autoscaled VM(s), "
                                  f"{len(report.targets)} target(s), {len(report.members)} F5 member(s)")
                for finding in report.findings:
                    self.stdout.write(f"  {finding.kind}: {finding.subject} — {finding.detail}")
                for error in report.errors:
                    self.stdout.write(f"  unreadable: {error}")
        if any(not r.clean for r in reports):
            raise SystemExit(1)

