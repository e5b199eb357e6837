"""The stage registry is what the runner, the Jenkins jobs and the pages read."""

from __future__ import annotations

import pytest

from ixnode.registry import ExtensionPoint, Registry, StageInfo, registry
from provisioning.stages import PIPELINES, stage_names


def test_the_registered_pipelines_are_the_provisioning_stages():
    for action, stages in PIPELINES.items():
        assert [info.name for info in registry.pipeline(action)] == [stage.name for stage in stages]
        assert [info.jenkins_step for info in registry.pipeline(action)] == [stage.jenkins_step for stage in stages]
        assert stage_names(action) == [stage.name for stage in stages]


def test_jenkins_steps_group_our_stages_in_order():
    steps = registry.jenkins_steps("scale-in")
    assert list(steps) == ["select-vm", "f5-remove-member", "remove-agents", "prometheus-remove-target", "power-off",
                           "destroy-vm", "release-ip", "complete"]
    assert steps["f5-remove-member"] == ("f5_disable", "f5_drain", "f5_remove")
    assert registry.stages_for_step("scale-in", "f5-remove-member") == ("f5_disable", "f5_drain", "f5_remove")
    assert registry.stages_for_step("scale-in", "destroy") == ("destroy",)  # our own name passes through


def test_a_pipeline_naming_a_stage_twice_is_refused():
    fresh = Registry()
    twice = [StageInfo("scale-out", "clone", "Clone", "clone-vm"), StageInfo("scale-out", "clone", "Clone", "x")]
    with pytest.raises(ValueError, match="twice"):
        fresh.register_pipeline("scale-out", twice)
    with pytest.raises(ValueError, match="action"):
        fresh.register_pipeline("scale-in", [StageInfo("scale-out", "clone", "Clone", "clone-vm")])
    assert fresh.pipeline("scale-out") == ()


def test_an_extension_point_registers_once_in_order():
    point: ExtensionPoint[str] = ExtensionPoint("test")
    point.register("a")
    point.register("b")
    point.register("a")
    assert list(point) == ["a", "b"] and point.last() == "b" and len(point) == 2
    point.unregister("b")
    assert point.last() == "a"
