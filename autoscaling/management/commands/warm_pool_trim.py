"""``manage.py warm_pool_trim [service ...]``: destroy warm VMs above each config's warm pool size."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from autoscaling.models import AutoscalingConfig
from autoscaling.selectors import config_missing_text
from autoscaling.services.warm_pool import WarmPoolBusy, warm_pool_trim
from ixnode.management.base import OperatorCommand


class Command(OperatorCommand):
    help = gettext_noop(
        "Destroy the warm (powered-off) VMs above each config's warm pool size — all of them where the pool is "
        "off — and those prepared with another template or network settings, and release their addresses. "
        "Exits 1 when a VM could not be destroyed or a run of the service is in flight.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("services", nargs="*", help=_("service names (default: every config)"))

    def handle(self, *args: Any, services: list[str], **options: Any) -> None:
        configs = AutoscalingConfig.objects.all().order_by("service_name")
        if services:
            configs = configs.filter(service_name__in=services)
            missing = set(services) - set(configs.values_list("service_name", flat=True))
            if missing:
                raise CommandError(config_missing_text(names=sorted(missing)))
        failed = False
        for config in configs:
            try:
                lines = warm_pool_trim(config=config)
            except WarmPoolBusy as exc:
                self.stdout.write(_("%(name)s: not trimmed: %(error)s") % {"name": config.service_name, "error": exc})
                failed = True
                continue
            except Exception as exc:  # vCenter unreachable or refusing the session: a message, not a traceback
                raise CommandError(_("%(name)s: the warm pool was not trimmed: %(error)s")
                                   % {"name": config.service_name, "error": exc}) from exc
            if lines:
                self.stdout.write(_("%(name)s: %(count)d warm VM(s) stale or above the pool size of %(size)d")
                                  % {"name": config.service_name, "count": len(lines), "size": config.warm_pool_size})
            else:
                self.stdout.write(_("%(name)s: no warm VM(s) stale or above the pool size of %(size)d")
                                  % {"name": config.service_name, "size": config.warm_pool_size})
            for line in lines:
                failed |= line.failed
                self.stdout.write(f"  {line}")
        if failed:
            raise SystemExit(1)
