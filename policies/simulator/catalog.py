"""The policies the simulator can replay, by name, and how one is run on a trace.

A name is a product policy (``step``, ``step+recheck``, ``target_tracking``, ``predictive`` and any other
:class:`~policies.choices.PolicyType`, e.g. ``recommended`` once it exists) or a reference (``oracle``,
``reactive_ideal``, see :mod:`policies.simulator.references`). ``NAME:KEY=VALUE,...`` sets the policy's own
settings (PolicySettings fields, ``warm_pool`` for that run's warm pool).

:data:`SUITE_PRESETS` holds the settings the benchmark suite uses for each name (the ones the README has
recommended so far); a policy without a preset runs with ``PolicySettings(policy_type=name)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from policies.choices import PolicyType
from policies.engine.evaluate import PolicySettings, recommended_settings
from policies.simulator.engine import SimConfig, SimParams, SimResult, simulate
from policies.simulator.references import (
    ORACLE,
    REACTIVE_IDEAL,
    REACTIVE_IDEAL_STABILISATION,
    REACTIVE_IDEAL_TARGET,
    REFERENCES,
    simulate_oracle,
    simulate_reactive_ideal,
)
from policies.simulator.trace import Trace

RECHECK = "step+recheck"


class PolicySpecError(ValueError):
    """A policy name or KEY=VALUE setting the simulator cannot use; the message says which and what is allowed
    (in the active language)."""


def policy_names() -> list[str]:
    """Every name ``--policy`` accepts (the product's policy types follow the choices as they are added)."""
    return [str(PolicyType.STEP), RECHECK, *(str(p) for p in PolicyType if p != PolicyType.STEP), *REFERENCES]


@dataclass(frozen=True)
class SimPolicy:
    """One policy to replay: its name, its settings, this run's warm pool (None: the config's) and label."""

    name: str
    settings: PolicySettings = field(default_factory=PolicySettings)
    warm_pool: int | None = None
    label: str = ""

    @property
    def is_reference(self) -> bool:
        return self.name in REFERENCES

    def describe(self, config: SimConfig | None = None) -> str:
        """The parameters this policy runs with, as one line (what each row of the table used), in English: the
        JSON output and stored rows; ``parameters_text(describe_parts())`` for the line in the active language."""
        with translation.override("en"):
            return parameters_text(self.describe_parts(config))

    def describe_parts(self, config: SimConfig | None = None) -> list[ParameterPart]:
        """``describe()`` as parts that can be stored and shown later in the reader's language: (msgid, params),
        or (None, {"text": …}) for a part that is not prose (``key=value`` settings)."""
        s = self.settings
        pool: list[ParameterPart] = [(gettext_noop(", warm pool %(size)s"), {"size": self.warm_pool})] \
            if self.warm_pool else []
        if self.name == ORACLE:
            return [(gettext_noop("demand known in advance, no lag, sized at the scale-out threshold"), {})]
        if self.name == REACTIVE_IDEAL:
            return [(gettext_noop("true load at each sample, target %(target)s %%, scale-in to the highest need of "
                                  "the last %(seconds)s s, real clone lag, no cooldown"),
                     {"target": f"{s.target:g}", "seconds": s.stabilisation_seconds}), *pool]
        if self.name in (str(PolicyType.STEP), RECHECK):
            c = config
            rules: ParameterPart = (gettext_noop("the config's thresholds, durations, steps, cooldown"), {})
            if c is not None:
                rules = (gettext_noop("scale-out > %(out)s %% for %(out_minutes)s min, scale-in < %(in)s %% for "
                                      "%(in_minutes)s min, steps %(out_step)s/%(in_step)s, cooldown %(cooldown)s s, "
                                      "repeat %(repeat)s s"),
                         {"out": f"{c.scale_out_cpu_threshold:g}", "out_minutes": c.scale_out_duration_minutes,
                          "in": f"{c.scale_in_cpu_threshold:g}", "in_minutes": c.scale_in_duration_minutes,
                          "out_step": c.scale_out_step, "in_step": c.scale_in_step,
                          "cooldown": c.cooldown_seconds, "repeat": c.alert_repeat_interval_seconds})
            recheck: list[ParameterPart] = [(gettext_noop(" + re-check at cooldown end"), {})] \
                if self.name == RECHECK else []
            return [rules, *recheck, *pool]
        default = PolicySettings()
        changed = [f"{f.name}={getattr(s, f.name)}" for f in fields(PolicySettings)
                   if f.name not in SIM_CONFIG_KEYS
                   and getattr(s, f.name) != getattr(default, f.name)]
        if changed:
            return [(None, {"text": ", ".join(changed)}), *pool]
        return [(gettext_noop("defaults"), {}), *pool]


# A part of a parameter line: an English msgid and its values, or None and {"text": a part shown as it is}.
ParameterPart = tuple[str | None, dict[str, Any]]


def parameters_text(parts: list[ParameterPart] | list[list[Any]]) -> str:
    """A parameter line from its parts (as ``describe_parts`` made them, or as stored in JSON), in the active
    language."""
    return "".join(gettext(msgid) % params if msgid else str(params.get("text", "")) for msgid, params in parts)


# The suite's settings per policy: the seed as shipped; target tracking and predictive as the README chose them
# on NASA July (target 69 % / 72 %, 30-minute stabilisation, at most 3 VMs per run, warm pool of 3).
SUITE_PRESETS: dict[str, SimPolicy] = {
    "step": SimPolicy("step"),
    RECHECK: SimPolicy(RECHECK),
    "target_tracking": SimPolicy(
        "target_tracking",
        PolicySettings(policy_type=PolicyType.TARGET_TRACKING, target=69, stabilisation_seconds=1800, max_change=3),
        warm_pool=3,
    ),
    "predictive": SimPolicy(
        "predictive",
        PolicySettings(policy_type=PolicyType.PREDICTIVE, target=72, stabilisation_seconds=1800, max_change=3),
        warm_pool=3,
    ),
    # the recommended policy's own tested settings (policies.engine.recommended), without a warm pool
    "recommended": SimPolicy("recommended", recommended_settings()),
    ORACLE: SimPolicy(ORACLE),
    REACTIVE_IDEAL: SimPolicy(REACTIVE_IDEAL, PolicySettings(target=REACTIVE_IDEAL_TARGET,
                                                             stabilisation_seconds=REACTIVE_IDEAL_STABILISATION)),
}

_INT_KEYS = ("max_change", "stabilisation_seconds", "warmup_seconds", "warm_pool", "confirm_seconds", "lead_seconds",
             "recurrence_seconds", "spike_reach", "rise_seconds", "rise_parts",
             "margin_noise_seconds", "guard_reserve_seconds", "guard_credit_seconds",
             "anticipate_seconds")


#: Settings the simulator takes from the config (the trace's), not from a policy spec; and the seed scale-in
#: rule's other metric, which a replay of one load column does not have (the live loop reads it).
SIM_CONFIG_KEYS = ("policy_type", "scale_out_threshold", "scale_in_threshold", "scale_in_duration_seconds",
                   "scale_out_duration_seconds", "scale_out_step", "scale_in_step", "alert_repeat_seconds",
                   "scale_in_other_metric", "scale_in_other_threshold")


def parse_policy(spec: str, *, base: PolicySettings | None = None, presets: bool = False) -> SimPolicy:
    """``target_tracking:target=68,scale_in_target=60`` → a :class:`SimPolicy`; :class:`PolicySpecError` if bad.

    ``base`` is the settings a product policy starts from (the config's policy in the CLI); with ``presets``
    a name starts from :data:`SUITE_PRESETS` instead (a reference always does).
    """
    name, _, rest = spec.partition(":")
    name = name.strip()
    names = policy_names()
    if name not in names:
        raise PolicySpecError(gettext("--policy %(spec)s: unknown policy %(name)s; choose from %(names)s.")
                              % {"spec": repr(spec), "name": repr(name), "names": ", ".join(names)})
    preset = SUITE_PRESETS.get(name) if presets or name in REFERENCES else None
    if preset is not None:
        settings, warm_pool = preset.settings, preset.warm_pool
    elif name == PolicyType.RECOMMENDED and (base is None or base.policy_type != PolicyType.RECOMMENDED):
        # its own tested settings, not another policy's (KEY=VALUE still changes them)
        start = base or PolicySettings()
        settings = recommended_settings(scale_out_threshold=start.scale_out_threshold)
        warm_pool = None
    else:
        start = base or PolicySettings()
        settings = replace(start, policy_type=PolicyType.STEP if name == RECHECK else PolicyType(name))
        warm_pool = None
    known = {f.name for f in fields(PolicySettings)}
    own: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or (key not in known and key != "warm_pool") or key in SIM_CONFIG_KEYS:
            raise PolicySpecError(
                gettext("--policy %(spec)s: %(item)s is not KEY=VALUE with a policy setting as KEY (e.g. target, "
                        "scale_in_target, tolerance, stabilisation_seconds, max_change, warm_pool).")
                % {"spec": repr(spec), "item": repr(item)}
            )
        default = getattr(PolicySettings(), key, 0)
        try:
            if isinstance(default, bool):
                own[key] = value.strip().lower() in ("1", "true", "yes", "on")
            elif key in _INT_KEYS:
                own[key] = int(value)
            else:
                own[key] = float(value)
        except ValueError as exc:
            raise PolicySpecError(gettext("--policy %(spec)s: %(key)s = %(value)s is not a number.")
                                  % {"spec": repr(spec), "key": key, "value": repr(value)}) from exc
    if "warm_pool" in own:
        warm_pool = own.pop("warm_pool")
        if warm_pool < 0:
            raise PolicySpecError(gettext("--policy %(spec)s: warm_pool must be 0 (off) or more VMs.")
                                  % {"spec": repr(spec)})
    return SimPolicy(name, replace(settings, **own), warm_pool=warm_pool, label=spec if rest.strip() else "")


def one_metric(settings: PolicySettings) -> PolicySettings:
    """``settings`` as a replay sees them: one load column, so the seed scale-in rule's other metric (the live
    settings name it, ``policies.selectors.policy_settings``) is not weighed — the rule is the load's alone."""
    return replace(settings, scale_in_other_metric="")


def run_policy(trace: Trace, config: SimConfig, params: SimParams, policy: SimPolicy) -> SimResult:
    """Replay ``trace`` under ``policy`` (a product policy through the real decision code, or a reference)."""
    if policy.warm_pool is not None:
        config = replace(config, warm_pool_size=policy.warm_pool)
    settings = replace(one_metric(policy.settings), scale_out_threshold=config.scale_out_cpu_threshold,
                       scale_in_threshold=config.scale_in_cpu_threshold,
                       scale_in_duration_seconds=config.scale_in_duration_minutes * 60,
                       scale_out_duration_seconds=config.scale_out_duration_minutes * 60,
                       scale_out_step=config.scale_out_step, scale_in_step=config.scale_in_step,
                       alert_repeat_seconds=config.alert_repeat_interval_seconds)
    if policy.name == ORACLE:
        result = simulate_oracle(trace, config, params)
    elif policy.name == REACTIVE_IDEAL:
        result = simulate_reactive_ideal(trace, config, params, target=settings.target,
                                         stabilisation_seconds=settings.stabilisation_seconds)
    else:
        result = simulate(trace, config, policy=settings,
                          params=replace(params, recheck_at_cooldown_end=policy.name == RECHECK))
    if policy.label:
        result.policy = policy.label
    return result
