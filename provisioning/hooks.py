"""What the provisioning app plugs into the apps below it (called from ``ProvisioningAppConfig.ready()``)."""

from __future__ import annotations

from autoscaling import hooks as autoscaling_hooks
from events.choices import ScaleAction
from ixnode.registry import registry
from provisioning.stages import stage_infos

RUN_TASK = "provisioning.tasks.scale_event_execute"


def register() -> None:
    for action in ScaleAction.values:
        registry.register_pipeline(action, stage_infos(action))
    autoscaling_hooks.run_task.register(RUN_TASK)
