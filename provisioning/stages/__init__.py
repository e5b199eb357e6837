"""The pipelines: each action's stages, in order. This is the one stage list of the product.

Adding a stage is one edit here (its place in ``PIPELINES``) plus its class (a :class:`~provisioning.stages.base.Stage`
subclass with ``name``, ``title``, ``jenkins_step``, ``run`` and ``rollback``). The provisioning app registers the
lists in :data:`ixnode.registry.registry` at start-up, where the runner, the generated Jenkins jobs and the pages
read them.
"""

from __future__ import annotations

from events.choices import ScaleAction
from ixnode.registry import StageInfo
from provisioning.stages import scale_in, scale_out
from provisioning.stages.base import Stage

PIPELINES: dict[str, tuple[Stage, ...]] = {
    ScaleAction.SCALE_OUT: (
        scale_out.AllocateIPStage(),
        scale_out.CloneStage(),
        scale_out.PowerOnStage(),
        scale_out.NetworkStage(),
        scale_out.HealthStage(),
        scale_out.F5AddStage(),
        scale_out.TargetAddStage(),
        scale_out.CompleteScaleOutStage(),
    ),
    ScaleAction.SCALE_IN: (
        scale_in.PickVMsStage(),
        scale_in.F5DisableStage(),
        scale_in.F5DrainStage(),
        scale_in.F5RemoveStage(),
        scale_in.MonitoringRemoveStage(),
        scale_in.TargetRemoveStage(),
        scale_in.ShutdownStage(),
        scale_in.DestroyStage(),
        scale_in.ReleaseIPStage(),
        scale_in.CompleteScaleInStage(),
    ),
}


def pipeline_stages(action: str) -> tuple[Stage, ...]:
    return PIPELINES[ScaleAction(action)]


def stage_names(action: str) -> list[str]:
    return [stage.name for stage in pipeline_stages(action)]


def stage_infos(action: str) -> tuple[StageInfo, ...]:
    """What the registry publishes of ``action``'s stages."""
    return tuple(
        StageInfo(action=str(ScaleAction(action)), name=stage.name, title=stage.title, jenkins_step=stage.jenkins_step)
        for stage in pipeline_stages(action)
    )
