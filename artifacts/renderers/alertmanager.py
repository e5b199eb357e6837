"""Alertmanager artifacts of one service: a route on its ``service`` label and a webhook receiver."""

from __future__ import annotations

from typing import Any

from artifacts.renderers import naming
from artifacts.renderers.context import RenderContext
from artifacts.renderers.formatting import dump_yaml, seconds

MASK = "********"


def alertmanager_route_data(config: Any, ctx: RenderContext) -> dict[str, Any]:
    """A first-level route, placed before the operator's routes, that sends the service's autoscale alerts
    only to its receiver (``continue: false``: autoscaling signals are not paged to humans)."""
    return {
        "receiver": naming.receiver_name(config.service_name),
        "matchers": [f'service="{config.service_name}"', 'autoscale=~"scale-out|scale-in"'],
        "group_by": ["service", "autoscale"],
        "group_wait": ctx.group_wait,
        "group_interval": ctx.group_interval,
        "repeat_interval": seconds(config.alert_repeat_interval_seconds),
        "continue": False,
    }


def alertmanager_receiver_data(config: Any, ctx: RenderContext, *, mask_secrets: bool = False) -> dict[str, Any]:
    webhook: dict[str, Any] = {"url": ctx.webhook_url(config.service_name), "send_resolved": True}
    if ctx.webhook_token:
        webhook["http_config"] = {
            "authorization": {"type": "Bearer", "credentials": MASK if mask_secrets else ctx.webhook_token}
        }
    return {"name": naming.receiver_name(config.service_name), "webhook_configs": [webhook]}


def render_alertmanager_route(config: Any, ctx: RenderContext) -> str:
    return dump_yaml({"routes": [alertmanager_route_data(config, ctx)]})


def render_alertmanager_receiver(config: Any, ctx: RenderContext, *, mask_secrets: bool = False) -> str:
    return dump_yaml({"receivers": [alertmanager_receiver_data(config, ctx, mask_secrets=mask_secrets)]})
