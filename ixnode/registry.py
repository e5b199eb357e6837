"""The product's registry: where an app plugs behaviour into an app below it (as NetBox's ``netbox.registry``).

Dependencies run one way (see ``docs/architecture.md``): a lower app never imports the apps above it. When it
needs their behaviour — the decision asking the policies app for options, the IP pool asking the artifacts app
which addresses its Prometheus targets use, the run queue needing the task that executes a run — it declares an
:class:`ExtensionPoint` and calls whatever the upper app registered in its ``AppConfig.ready()``. Without a
registration the lower app keeps its own default, so each app still works (and is tested) on its own.

The pipeline stages are registered here too (:class:`StageInfo`): the runner, the generated Jenkins jobs and the
pages all read the stage list from :func:`Registry.pipeline`, the only place it is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.utils.functional import Promise

T = TypeVar("T")
P = TypeVar("P", bound="ExtensionPointBase")


@dataclass(frozen=True)
class StageInfo:
    """What the rest of the product knows of one pipeline stage: its action, name, title and Jenkins step.

    ``name`` is what runs record (``ScaleEventStage.name``); ``title`` the operator-facing label (translatable);
    ``jenkins_step`` the stage of the generated Jenkins job that runs it (one Jenkins stage may run several of ours,
    e.g. ``f5-remove-member`` runs ``f5_disable``, ``f5_drain`` and ``f5_remove`` in that order).
    """

    action: str
    name: str
    title: str | Promise
    jenkins_step: str


class ExtensionPointBase:
    """What the registry knows of every extension point, whatever its items' type: its name and size."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __len__(self) -> int:
        raise NotImplementedError


class ExtensionPoint(ExtensionPointBase, Generic[T]):
    """An ordered set of items (usually callables) that apps above the declaring one register. The declaring
    module names the items' type: ``ExtensionPoint[AddressesInUse]("autoscaling.addresses_in_use")``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._items: list[T] = []

    def register(self, item: T) -> T:
        """Add ``item`` once (registering it again, e.g. from a second ``ready()``, changes nothing)."""
        if item not in self._items:
            self._items.append(item)
        return item

    def unregister(self, item: T) -> None:
        if item in self._items:
            self._items.remove(item)

    def __iter__(self) -> Iterator[T]:
        return iter(tuple(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def last(self) -> T | None:
        """The item registered last, or None (for points that take one provider)."""
        return self._items[-1] if self._items else None

    def __repr__(self) -> str:
        return f"<ExtensionPoint {self.name}: {len(self._items)} registered>"


class Registry:
    """Stage lists per action, and the named extension points."""

    def __init__(self) -> None:
        self._pipelines: dict[str, tuple[StageInfo, ...]] = {}
        self._points: dict[str, ExtensionPointBase] = {}

    # ---- pipeline stages ---------------------------------------------------------------------------
    def register_pipeline(self, action: str, stages: Sequence[StageInfo]) -> None:
        names = [stage.name for stage in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"the {action} pipeline names a stage twice: {names}")
        if any(stage.action != action for stage in stages):
            raise ValueError(f"every stage of the {action} pipeline must say action={action!r}")
        self._pipelines[action] = tuple(stages)

    def pipeline(self, action: str) -> tuple[StageInfo, ...]:
        """The stages of ``action``'s pipeline in order; () when no app registered one."""
        return self._pipelines.get(str(action), ())

    def stage(self, name: str) -> StageInfo | None:
        """The first registered stage called ``name`` (titles of a name are the same in every pipeline)."""
        for stages in self._pipelines.values():
            for stage in stages:
                if stage.name == name:
                    return stage
        return None

    def jenkins_steps(self, action: str) -> dict[str, tuple[str, ...]]:
        """The generated Jenkins job's stages of ``action`` in order, each with the stages it runs."""
        steps: dict[str, list[str]] = {}
        for stage in self.pipeline(action):
            steps.setdefault(stage.jenkins_step, []).append(stage.name)
        return {step: tuple(names) for step, names in steps.items()}

    def stages_for_step(self, action: str, step: str) -> tuple[str, ...]:
        """The stages a Jenkins callback's ``stage`` value stands for: a Jenkins step, or one of our stage names
        (given as is, so an unknown name is reported by the caller)."""
        return self.jenkins_steps(action).get(step) or (step,)

    # ---- extension points --------------------------------------------------------------------------
    def extension_point(self, point: P) -> P:
        """Declare ``point`` under its name and return it (the declaring module does, once, at import; the
        registering apps import that module's attribute). A second point under the same name is refused."""
        known = self._points.setdefault(point.name, point)
        if known is not point:
            raise ValueError(f"extension point {point.name!r} is declared twice")
        return point

    def extension_points(self) -> dict[str, ExtensionPointBase]:
        """Every declared point by name (for introspection and tests)."""
        return dict(self._points)


registry = Registry()
