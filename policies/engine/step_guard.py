"""The step guard: the ``recommended`` policy kept within the seed's own results, as it runs.

Beside the policy, every evaluation replays the seed's step policy on the same measured load — a *shadow*: the
config's scale-out and scale-in rules on the rules' window at the shadow's own VM count, Alertmanager's first
notification and repeats, ``decide()``'s cooldown, bounds and one run at a time, and the pipelines' times (a
clone in service :data:`CLONE_SECONDS` after the decision, a removed VM out of the pool
:data:`REMOVE_SECONDS` after it). It adds up, from the policy's first evaluation, the overload minutes and the
VM-hours of both: the shadow's (its count against the freshest demand) and the service's (the count it runs).

Two bounds follow from them, on the count the policy asks for:

* **At least the seed's count while the policy has no overload to spare.** Below the count the shadow has
  ordered, the service could be overloaded where the seed would not be. So a count below it is allowed only while
  the service has had at least ``reserve_seconds`` (a clone's lead time) less overload than the shadow: if the
  load then rises, the clones that bring it back to the seed's count arrive before that spare is used up.
* **At most the seed's count once the VM-hours are spent.** Above the count the shadow has ordered, the policy
  spends VM-hours the seed would not. That is allowed while the service's VM-hours stay within ``vm_share`` of the
  shadow's; beyond, the count is held at the seed's — which, by the first bound, is as safe as the seed.

So over any stretch of the service's life its overload stays near the seed's or below, and its VM-hours near the
seed's + ``vm_share`` or below, whatever the load: the policy's own rules (faster scale-out, headroom for a
recurring spike, scale-in to the hour's peak) decide only inside what the seed would have done. The shadow is a
model: its pipelines take the seed's nominal times, its rules see the load as the evaluation loop measures it.

The state is a JSON-able dict (kept per service between evaluations, like the policy's history); the functions
are pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from autoscaling.decision import DecisionInput, decide
from events.choices import ScaleAction
from policies.engine.notes import Note, note

DISPATCH_SECONDS = 30  # decision → pipeline running
CLONE_SECONDS = DISPATCH_SECONDS + 300  # decision → the clone serves (dispatch + clone, health check, F5, target)
REMOVE_SECONDS = DISPATCH_SECONDS + 10  # decision → the VM is out of the F5 pool
DELETE_SECONDS = DISPATCH_SECONDS + 120  # decision → the scale-in run is done (its cooldown starts)
GROUP_WAIT_SECONDS = 30  # Alertmanager: first notification after the alert fires
GROUP_INTERVAL_SECONDS = 300  # ... then flushes at this interval, each sending if the repeat interval has passed
#: An evaluation further than this after the last one: the time between is a gap (not counted either way)
GAP_SECONDS = 600
#: ... and further than this: the state is from too long ago (a policy switched back, the guard turned on again,
#: the loop stopped for a day): the shadow and its totals start again
RESTART_SECONDS = 86400
DEFAULT_VM_SHARE = 0.01
#: Until the seed's VM-hours reach this long at its count, the share is taken of that instead (a young service
#: may spend on its first scale-outs — a flash crowd on its first day — what the scale-ins after them pay back)
DEFAULT_CREDIT_SECONDS = 7 * 86400
DEFAULT_RESERVE_SECONDS = 390  # a clone's lead time: decision → in service, plus one evaluation interval

State = dict[str, Any]


@dataclass(frozen=True)
class SeedRules:
    """The config's step policy: what the seed's alerts and ``decide()`` would do."""

    min_vms: int
    max_vms: int
    scale_out_threshold: float
    scale_in_threshold: float
    scale_out_seconds: int
    scale_in_seconds: int
    cooldown_seconds: int
    repeat_seconds: int = 300
    window_seconds: int = 300  # the rules' rate(...[5m])
    scale_out_step: int = 1
    scale_in_step: int = 1


_ACTIONS = (ScaleAction.SCALE_OUT, ScaleAction.SCALE_IN)  # read once: an enum member read from its class is slow


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def start(current: int, now: float) -> State:
    """A shadow that starts where the service is."""
    return {"at": now, "serving": current, "run": None, "ordered": None, "last_out": None, "last_in": None,
            "out_since": None, "in_since": None, "out_sent": None, "in_sent": None,
            "shadow_over": 0.0, "own_over": 0.0, "shadow_vm": 0.0, "own_vm": 0.0, "recent": [],
            "current": current}


def order(state: State, desired: int) -> State:
    """``state`` once the policy's own decision for ``desired`` VMs was allowed: a count between the service's and
    that is the policy's, not a change from outside (:func:`advance`)."""
    return {**state, "ordered": desired} if state else state


def ordered(state: Mapping[str, Any]) -> int:
    """The shadow's count once its run in flight is done: the seed's count of now."""
    run = state.get("run")
    return int(state["serving"]) + (int(run["delta"]) if run and not run.get("applied") else 0)


def _finish_runs(state: State, now: float) -> None:
    run = state.get("run")
    if not run:
        return
    if not run.get("applied") and now >= run["serves_at"]:
        state["serving"] = max(0, int(state["serving"]) + int(run["delta"]))
        run["applied"] = True
    if now >= run["done_at"]:
        state["last_out" if run["delta"] > 0 else "last_in"] = run["done_at"]
        state["run"] = None


_RULE_KEYS = {direction: (f"{direction}_since", f"{direction}_sent") for direction in ("out", "in")}  # state keys


def _notify(state: State, direction: str, firing: bool, now: float, rules: SeedRules, for_seconds: int) -> bool:
    """Prometheus's ``for`` and Alertmanager's timing for one rule: whether a notification goes out by the next
    evaluation (the first one ``GROUP_WAIT_SECONDS`` after the alert fires, then every repeat interval, rounded
    to Alertmanager's group interval, while it fires)."""
    since, sent = _RULE_KEYS[direction]
    if not firing:
        state[since] = state[sent] = None
        return False
    if state[since] is None:
        state[since] = now
    if now - state[since] < for_seconds:
        return False
    if state[sent] is None or now - state[sent] >= max(rules.repeat_seconds, GROUP_INTERVAL_SECONDS):
        state[sent] = now
        return True
    return False


def advance(previous: Mapping[str, Any] | None, *, now: float, current: int, fresh_demand: float,
            rules: SeedRules) -> State:
    """The shadow after one more evaluation at ``now``: ``current`` is the service's count, ``fresh_demand`` (VM-%)
    the load in the freshest reading (``policies.engine.recommended.demand``)."""
    if not previous or "serving" not in previous or now - float(previous["at"]) > RESTART_SECONDS:
        previous = start(max(current, rules.min_vms), now)  # none yet, or from too long ago to compare with
    state: State = dict(previous)  # a copy: the previous state is not changed (its run, the one nested dict, too)
    if isinstance(state.get("run"), dict):
        state["run"] = dict(state["run"])
    before = int(state.get("current", current))
    own_order = state.get("ordered")
    if now - float(state["at"]) > GAP_SECONDS or (
            current != before and not (own_order is not None
                                       and min(before, own_order) <= current <= max(before, own_order))):
        # after a gap, or a count the policy did not order (an operator, a schedule, a run of before): the seed
        # would have that count too — the shadow starts again from it, its running totals kept
        state.update(serving=max(current, rules.min_vms), run=None, out_since=None, in_since=None, out_sent=None,
                     in_sent=None, recent=[])
        before = current  # both sides have the count from here on: neither is charged for the change
    if own_order is not None and current == own_order:
        state["ordered"] = None
    # the rules' window as the seed's Prometheus would see it: the load itself (the mean of the freshest demands of
    # the window), not the service's averaged utilisation × its count, which a change of count inside the window skews
    since = now - rules.window_seconds
    recent = [pair for pair in state.get("recent", []) if pair[0] > since]
    recent.append([now, fresh_demand])
    state["recent"] = recent
    window_demand = sum(map(itemgetter(1), recent)) / len(recent)
    dt = now - float(state["at"])
    serving = int(state["serving"])
    # a VM costs from its clone to its deletion, not only while it serves: a change of count adds the time a clone
    # takes before it serves, or a removed VM until it is deleted (the same for the shadow's runs, below)
    change = current - before
    if change:
        state["own_vm"] += change * (CLONE_SECONDS - DISPATCH_SECONDS) if change > 0 else -change * (
            DELETE_SECONDS - REMOVE_SECONDS)
    state["current"] = current
    if 0 < dt <= GAP_SECONDS:  # the interval just ended, at the counts both had then and the load measured now
        if fresh_demand > serving * rules.scale_out_threshold:
            state["shadow_over"] += dt
        if fresh_demand > before * rules.scale_out_threshold:
            state["own_over"] += dt
        state["shadow_vm"] += serving * dt
        state["own_vm"] += before * dt
    state["at"] = now
    _finish_runs(state, now)
    serving = int(state["serving"])
    # schedules move the bounds: the seed's count follows them as decide() would at its next alert
    serving = max(rules.min_vms, min(rules.max_vms, serving))
    state["serving"] = serving
    out = _notify(state, "out", serving > 0 and window_demand > serving * rules.scale_out_threshold, now, rules,
                  rules.scale_out_seconds)
    in_ = _notify(state, "in", serving > 0 and window_demand < serving * rules.scale_in_threshold, now, rules,
                  rules.scale_in_seconds)
    for action, sent in zip(_ACTIONS, (out, in_), strict=True) if out or in_ else ():
        if not sent:
            continue
        last_out, last_in = state["last_out"], state["last_in"]
        at = now + GROUP_WAIT_SECONDS  # the webhook's decision: when Alertmanager sends (after its group wait)
        result = decide(DecisionInput(
            action=action, now=_dt(at), enabled=True, min_vms=rules.min_vms, max_vms=rules.max_vms,
            step=rules.scale_out_step if action == ScaleAction.SCALE_OUT else rules.scale_in_step,
            cooldown_seconds=rules.cooldown_seconds, current_vm_count=serving,
            last_scale_out_at=_dt(last_out) if last_out is not None else None,
            last_scale_in_at=_dt(last_in) if last_in is not None else None,
            run_in_flight=state["run"] is not None))
        if result.allowed:
            scale_out = action == ScaleAction.SCALE_OUT
            state["shadow_vm"] += result.count * (CLONE_SECONDS - DISPATCH_SECONDS if scale_out
                                                  else DELETE_SECONDS - REMOVE_SECONDS)
            state["run"] = {"delta": result.count if scale_out else -result.count,
                            "serves_at": at + (CLONE_SECONDS if scale_out else REMOVE_SECONDS),
                            "done_at": at + (CLONE_SECONDS if scale_out else DELETE_SECONDS), "applied": False}
        elif result.starts_cooldown:
            state["last_out" if action == ScaleAction.SCALE_OUT else "last_in"] = at
    return state


@dataclass
class Bounded:
    desired: int
    notes: list[Note]


def bound(desired: int, state: Mapping[str, Any], *, current: int, vm_share: float, reserve_seconds: float,
          credit_seconds: float = DEFAULT_CREDIT_SECONDS) -> Bounded:
    """``desired`` within the seed's results (the module's two bounds), and the notes that say why it moved."""
    if "serving" not in state:
        return Bounded(desired, [])
    seed = ordered(state)
    notes: list[Note] = []
    # the share of the seed's VM-hours so far, or while they are fewer, of a credit of ``credit_seconds`` at the
    # seed's count: a young service may spend on its first scale-outs what its later scale-ins pay back
    spare_vm = (vm_share * max(float(state["shadow_vm"]), seed * credit_seconds)
                - (float(state["own_vm"]) - float(state["shadow_vm"])))
    if desired > seed and spare_vm <= 0:
        notes.append(note("guard_vm_hours_spent", count=seed, share=vm_share * 100,
                          own=float(state["own_vm"]) / 3600, seed=float(state["shadow_vm"]) / 3600))
        desired = seed
    spare_over = float(state["shadow_over"]) - float(state["own_over"])
    if desired < seed and spare_over < reserve_seconds:
        notes.append(note("guard_seed_count", count=seed, spare=max(0.0, spare_over) / 60,
                          reserve=reserve_seconds / 60))
        desired = seed
    return Bounded(desired, notes)
