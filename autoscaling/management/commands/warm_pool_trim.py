"""``manage.py warm_pool_trim [service ...]``: destroy warm VMs above each config's warm pool size."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from autoscaling.models import AutoscalingConfig
from autoscaling.services.warm_pool import WarmPoolBusy, warm_pool_trim


class Command(BaseCommand):
    help = ("Destroy the warm (powered-off) VMs above each config's warm pool size — all of them where the pool is "
            "off — and those prepared with another template or network settings, and release their addresses. "
            "Exits 1 when a VM could not be destroyed or a run of the service is in flight.")

    def add_arguments(self, parser):
        parser.add_argument("services", nargs="*", help="service names (default: every config)")

    def handle(self, *args, services: list[str], **options):
        configs = AutoscalingConfig.objects.all().order_by("service_name")
        if services:
            configs = configs.filter(service_name__in=services)
            missing = set(services) - set(configs.values_list("service_name", flat=True))
            if missing:
                raise CommandError(f"No autoscaling config named {', '.join(sorted(missing))}.")
        failed = False
        for config in configs:
            try:
                lines = warm_pool_trim(config=config)
            except WarmPoolBusy as exc:
                self.stdout.write(f"{config.service_name}: not trimmed: {exc}")
                failed = True
                continue
            except Exception as exc:  # vCenter unreachable or refusing the session: a message, not a traceback
                raise CommandError(f"{config.service_name}: the warm pool was not trimmed: {exc}") from exc
            self.stdout.write(f"{config.service_name}: {len(lines) or 'no'} warm VM(s) stale or above the pool size "
                              f"of {config.warm_pool_size}")
            for line in lines:
                failed |= "not destroyed" in line
                self.stdout.write(f"  {line}")
        if failed:
            raise SystemExit(1)
