"""``manage.py warm_pool_trim [service ...]``: destroy warm VMs above each config's warm pool size."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from autoscaling.models import AutoscalingConfig
from autoscaling.services.warm_pool import warm_pool_trim


class Command(BaseCommand):
    help = ("Destroy the warm (powered-off) VMs above each config's warm pool size — all of them where the pool is "
            "off — and release their addresses. Exits 1 when a VM could not be destroyed.")

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
            lines = warm_pool_trim(config=config)
            self.stdout.write(f"{config.service_name}: {len(lines) or 'no'} warm VM(s) above the pool size of "
                              f"{config.warm_pool_size}")
            for line in lines:
                failed |= "not destroyed" in line
                self.stdout.write(f"  {line}")
        if failed:
            raise SystemExit(1)
