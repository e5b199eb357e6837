"""The decision engine: a pure function over config bounds, state and a clock.

No database, no network, no clock of its own: the caller gathers the inputs (the webhook service, the
evaluation loop, the simulator) and this module says ALLOW or which BLOCK, and how many VMs to move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from events.choices import Decision, ScaleAction
from events.reasons import Reason, is_reason


@dataclass(frozen=True)
class DecisionInput:
    """Everything one decision depends on."""

    action: ScaleAction
    now: datetime
    enabled: bool
    min_vms: int
    max_vms: int
    step: int
    cooldown_seconds: int
    current_vm_count: int | None  # targets of the service's Prometheus job; None when unknown
    last_scale_out_at: datetime | None = None
    last_scale_in_at: datetime | None = None
    run_in_flight: bool = False
    free_ips: int | None = None  # scale-out only: addresses left in the pool; None when not checked
    count_error: str = ""  # why the count is unknown (an events.reasons.Reason is used as the decision's reason)
    # Set when the action may not run although every check passes: the operator suspended the process, or a
    # policy other than step scales the service. The decision is then BLOCK_DISABLED with this reason.
    suspended_reason: str = ""


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    reason: str  # an events.reasons.Reason (its code and parameters kept for translation) or a plain text
    count: int = 0  # VMs to add (scale-out) or remove (scale-in); 0 when blocked
    starts_cooldown: bool = False  # BLOCK_MAX / BLOCK_MIN start that direction's cooldown

    @property
    def allowed(self) -> bool:
        return self.decision == Decision.ALLOW


def in_cooldown(now: datetime, last_action_at: datetime | None, cooldown_seconds: int) -> bool:
    """In cooldown: the last action of that direction is less than ``cooldown_seconds`` ago (no last action or
    no cooldown means not in cooldown)."""
    if last_action_at is None or not cooldown_seconds:
        return False
    return now - last_action_at < timedelta(seconds=cooldown_seconds)


def cooldown_remaining(now: datetime, last_action_at: datetime | None, cooldown_seconds: int) -> float:
    """Seconds of cooldown left (0 when not in cooldown)."""
    if not in_cooldown(now, last_action_at, cooldown_seconds):
        return 0.0
    assert last_action_at is not None
    return (last_action_at + timedelta(seconds=cooldown_seconds) - now).total_seconds()


def decide(inp: DecisionInput) -> DecisionResult:
    """Decide one scaling action.

    Order: disabled → run in flight → unknown count → min/max (checked before the cooldown, and starting that
    direction's cooldown, so an alert that keeps firing at the bound is answered by the cooldown instead of
    being re-evaluated on every repeat) → cooldown → IP pool (scale-out) → suspended → ALLOW with
    ``min(step, headroom)`` VMs.
    """
    result = _decide(inp)
    if result.allowed and inp.suspended_reason:
        return DecisionResult(Decision.BLOCK_DISABLED, inp.suspended_reason)
    return result


def _decide(inp: DecisionInput) -> DecisionResult:
    action = ScaleAction(inp.action)
    if not inp.enabled:
        return DecisionResult(Decision.BLOCK_DISABLED, Reason("config_disabled"))
    if inp.run_in_flight:
        return DecisionResult(Decision.BLOCK_IN_PROGRESS, Reason("in_flight"))
    if inp.current_vm_count is None:
        if is_reason(inp.count_error):  # a reason of its own (count_unsettled, count_mismatch…)
            return DecisionResult(Decision.BLOCK_UNKNOWN_COUNT, inp.count_error)
        reason = Reason("count_unknown_error", error=inp.count_error) if inp.count_error else Reason("count_unknown")
        return DecisionResult(Decision.BLOCK_UNKNOWN_COUNT, reason)

    count = inp.current_vm_count
    if action == ScaleAction.SCALE_OUT:
        if count >= inp.max_vms:
            return DecisionResult(Decision.BLOCK_MAX, Reason("at_max", count=count, max=inp.max_vms),
                                  starts_cooldown=True)
        if in_cooldown(inp.now, inp.last_scale_out_at, inp.cooldown_seconds):
            left = cooldown_remaining(inp.now, inp.last_scale_out_at, inp.cooldown_seconds)
            return DecisionResult(Decision.BLOCK_COOLDOWN, Reason("cooldown_out", left=left))
        headroom = inp.max_vms - count
        moved = min(inp.step, headroom)
        if inp.free_ips is not None:
            if inp.free_ips <= 0:
                return DecisionResult(Decision.BLOCK_IP_POOL, Reason("ip_pool_empty"))
            if inp.free_ips < moved:
                return DecisionResult(
                    Decision.ALLOW,
                    Reason("adding_partial", free=inp.free_ips, moved=moved, count=count,
                           after=count + inp.free_ips, max=inp.max_vms),
                    count=inp.free_ips,
                )
        return DecisionResult(
            Decision.ALLOW, Reason("adding", moved=moved, count=count, after=count + moved, max=inp.max_vms),
            count=moved,
        )

    if count <= inp.min_vms:
        return DecisionResult(Decision.BLOCK_MIN, Reason("at_min", count=count, min=inp.min_vms),
                              starts_cooldown=True)
    if in_cooldown(inp.now, inp.last_scale_in_at, inp.cooldown_seconds):
        left = cooldown_remaining(inp.now, inp.last_scale_in_at, inp.cooldown_seconds)
        return DecisionResult(Decision.BLOCK_COOLDOWN, Reason("cooldown_in", left=left))
    moved = min(inp.step, count - inp.min_vms)
    return DecisionResult(
        Decision.ALLOW, Reason("removing", moved=moved, count=count, after=count - moved, min=inp.min_vms),
        count=moved,
    )
