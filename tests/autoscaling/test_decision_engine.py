"""The pure decision engine: every branch, table-driven, and the reference scenario replayed on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from autoscaling.decision import DecisionInput, cooldown_remaining, decide, in_cooldown
from events.choices import Decision, ScaleAction

T0 = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
OUT, IN = ScaleAction.SCALE_OUT, ScaleAction.SCALE_IN


def base(**overrides) -> DecisionInput:
    values = {
        "action": OUT,
        "now": T0,
        "enabled": True,
        "min_vms": 2,
        "max_vms": 4,
        "step": 1,
        "cooldown_seconds": 300,
        "current_vm_count": 2,
    }
    values.update(overrides)
    return DecisionInput(**values)


def ago(seconds: float) -> datetime:
    return T0 - timedelta(seconds=seconds)


# (id, input overrides, expected decision, expected count, expected starts_cooldown, reason fragment)
CASES = [
    # --- guards that come before everything --------------------------------------------------------
    ("disabled", {"enabled": False}, Decision.BLOCK_DISABLED, 0, False, "disabled"),
    ("disabled-wins-over-in-flight", {"enabled": False, "run_in_flight": True}, Decision.BLOCK_DISABLED, 0, False,
     "disabled"),
    ("in-flight-out", {"run_in_flight": True}, Decision.BLOCK_IN_PROGRESS, 0, False, "in flight"),
    ("in-flight-in", {"action": IN, "current_vm_count": 4, "run_in_flight": True}, Decision.BLOCK_IN_PROGRESS, 0,
     False, "in flight"),
    ("in-flight-wins-over-unknown", {"run_in_flight": True, "current_vm_count": None}, Decision.BLOCK_IN_PROGRESS,
     0, False, "in flight"),
    ("unknown-count", {"current_vm_count": None}, Decision.BLOCK_UNKNOWN_COUNT, 0, False, "Prometheus"),
    ("unknown-count-with-error", {"current_vm_count": None, "count_error": "connection refused"},
     Decision.BLOCK_UNKNOWN_COUNT, 0, False, "connection refused"),
    ("unknown-count-in", {"action": IN, "current_vm_count": None}, Decision.BLOCK_UNKNOWN_COUNT, 0, False,
     "could not be read"),
    # --- scale-out -------------------------------------------------------------------------------------
    ("out-allow-no-history", {}, Decision.ALLOW, 1, False, "2 → 3"),
    ("out-at-max", {"current_vm_count": 4}, Decision.BLOCK_MAX, 0, True, "maximum of 4"),
    ("out-above-max", {"current_vm_count": 7}, Decision.BLOCK_MAX, 0, True, "maximum"),
    ("out-max-before-cooldown", {"current_vm_count": 4, "last_scale_out_at": ago(10)}, Decision.BLOCK_MAX, 0, True,
     "maximum"),
    ("out-cooldown", {"last_scale_out_at": ago(100)}, Decision.BLOCK_COOLDOWN, 0, False, "200 s"),
    ("out-cooldown-just-before-end", {"last_scale_out_at": ago(299)}, Decision.BLOCK_COOLDOWN, 0, False, "1 s"),
    ("out-cooldown-ended-exactly", {"last_scale_out_at": ago(300)}, Decision.ALLOW, 1, False, "Adding 1"),
    ("out-ignores-scale-in-cooldown", {"last_scale_in_at": ago(1)}, Decision.ALLOW, 1, False, "Adding"),
    ("out-zero-cooldown", {"cooldown_seconds": 0, "last_scale_out_at": ago(0)}, Decision.ALLOW, 1, False, "Adding"),
    ("out-step-clamped-to-headroom", {"step": 5, "current_vm_count": 3}, Decision.ALLOW, 1, False, "3 → 4"),
    ("out-step-two", {"step": 2, "max_vms": 10}, Decision.ALLOW, 2, False, "2 → 4"),
    ("out-ip-pool-empty", {"free_ips": 0}, Decision.BLOCK_IP_POOL, 0, False, "no free address"),
    ("out-ip-pool-partial", {"step": 3, "max_vms": 10, "free_ips": 2}, Decision.ALLOW, 2, False, "only 2 free"),
    ("out-ip-pool-enough", {"step": 2, "max_vms": 10, "free_ips": 2}, Decision.ALLOW, 2, False, "2 → 4"),
    ("out-ip-pool-not-checked-before-max", {"current_vm_count": 4, "free_ips": 0}, Decision.BLOCK_MAX, 0, True,
     "maximum"),
    ("out-ip-pool-not-checked-in-cooldown", {"free_ips": 0, "last_scale_out_at": ago(1)}, Decision.BLOCK_COOLDOWN,
     0, False, "cooldown"),
    # --- scale-in ----------------------------------------------------------------------------------------
    ("in-allow", {"action": IN, "current_vm_count": 4}, Decision.ALLOW, 1, False, "4 → 3"),
    ("in-at-min", {"action": IN, "current_vm_count": 2}, Decision.BLOCK_MIN, 0, True, "minimum of 2"),
    ("in-below-min", {"action": IN, "current_vm_count": 1}, Decision.BLOCK_MIN, 0, True, "minimum"),
    ("in-min-before-cooldown", {"action": IN, "current_vm_count": 2, "last_scale_in_at": ago(1)},
     Decision.BLOCK_MIN, 0, True, "minimum"),
    ("in-cooldown", {"action": IN, "current_vm_count": 4, "last_scale_in_at": ago(60)}, Decision.BLOCK_COOLDOWN, 0,
     False, "240 s"),
    ("in-ignores-scale-out-cooldown", {"action": IN, "current_vm_count": 4, "last_scale_out_at": ago(1)},
     Decision.ALLOW, 1, False, "Removing 1"),
    ("in-step-clamped-to-min", {"action": IN, "current_vm_count": 3, "step": 5}, Decision.ALLOW, 1, False, "3 → 2"),
    ("in-step-two", {"action": IN, "current_vm_count": 4, "step": 2}, Decision.ALLOW, 2, False, "4 → 2"),
    ("in-ignores-ip-pool", {"action": IN, "current_vm_count": 4, "free_ips": 0}, Decision.ALLOW, 1, False,
     "Removing"),
    ("action-as-plain-string", {"action": "scale-in", "current_vm_count": 3}, Decision.ALLOW, 1, False, "3 → 2"),
]


@pytest.mark.parametrize(("overrides", "decision", "count", "starts_cooldown", "fragment"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_decide_table(overrides, decision, count, starts_cooldown, fragment):
    result = decide(base(**overrides))
    assert result.decision == decision
    assert result.count == count
    assert result.starts_cooldown is starts_cooldown
    assert fragment in result.reason
    assert result.allowed is (decision == Decision.ALLOW)
    assert result.reason.strip()


def test_every_decision_is_covered_by_the_table():
    seen = {case[2] for case in CASES}
    assert seen == set(Decision)


def test_decide_rejects_unknown_action():
    with pytest.raises(ValueError):
        decide(base(action="sideways"))


@pytest.mark.parametrize(
    ("last", "cooldown", "expected", "remaining"),
    [
        (None, 300, False, 0.0),
        (ago(10), 0, False, 0.0),
        (ago(10), 300, True, 290.0),
        (ago(300), 300, False, 0.0),
        (ago(301), 300, False, 0.0),
        (T0 + timedelta(seconds=5), 300, True, 305.0),  # clock skew: a future timestamp keeps the cooldown
    ],
)
def test_in_cooldown(last, cooldown, expected, remaining):
    assert in_cooldown(T0, last, cooldown) is expected
    assert cooldown_remaining(T0, last, cooldown) == pytest.approx(remaining)


# --- the reference scenario on a fake clock---------------------------------------------------------------


@dataclass
class Run:
    action: ScaleAction
    count: int
    ends_at: datetime


@dataclass
class World:
    """Prometheus' target count, the cooldown state and the run in flight, advanced by a fake clock.

    A run that ends (here: always successfully) changes the count and starts its direction's cooldown,
    exactly as the services do; BLOCK_MAX/BLOCK_MIN start the cooldown too.
    """

    count: int
    min_vms: int = 2
    max_vms: int = 4
    step: int = 1
    cooldown: int = 300
    run_minutes: dict = field(default_factory=lambda: {OUT: 5, IN: 2})  # scale-out 5 min, scale-in 2 min
    last_out: datetime | None = None
    last_in: datetime | None = None
    run: Run | None = None
    log: list = field(default_factory=list)

    def advance(self, now: datetime) -> None:
        if self.run is not None and self.run.ends_at <= now:
            sign = 1 if self.run.action == OUT else -1
            self.count += sign * self.run.count
            if self.run.action == OUT:
                self.last_out = self.run.ends_at
            else:
                self.last_in = self.run.ends_at
            self.log.append((self.run.ends_at, "run-finished", self.run.action, self.count))
            self.run = None

    def alert(self, now: datetime, action: ScaleAction) -> Decision:
        self.advance(now)
        result = decide(
            DecisionInput(
                action=action,
                now=now,
                enabled=True,
                min_vms=self.min_vms,
                max_vms=self.max_vms,
                step=self.step,
                cooldown_seconds=self.cooldown,
                current_vm_count=self.count,
                last_scale_out_at=self.last_out,
                last_scale_in_at=self.last_in,
                run_in_flight=self.run is not None,
                free_ips=9,
            )
        )
        if result.starts_cooldown:
            if action == OUT:
                self.last_out = now
            else:
                self.last_in = now
        if result.allowed:
            self.run = Run(action, result.count, now + timedelta(minutes=self.run_minutes[action]))
        self.log.append((now, "alert", action, result.decision))
        return result.decision


def minutes(value: int) -> datetime:
    return T0 + timedelta(minutes=value)


def test_seed_13_2_scale_out_replay():
    world = World(count=2)
    # Alert first fires at 00:06 and Alertmanager repeats it every 300 s while CPU stays above 80 %.
    decisions = {m: world.alert(minutes(m), OUT) for m in range(6, 52, 5)}
    world.advance(minutes(60))
    allowed = [m for m, d in decisions.items() if d == Decision.ALLOW]

    # VM3 at the first alert (no cooldown yet, 2 < 4).
    assert decisions[6] == Decision.ALLOW
    # VM3's run takes 5 minutes (00:06–00:11) and its end starts the scale-out cooldown (00:11–00:16):
    # the repeat at 00:11 is blocked by that cooldown, never a second run.
    assert decisions[11] == Decision.BLOCK_COOLDOWN
    # VM4 only after the cooldown (started when VM3's run ended) has passed.
    assert decisions[16] == Decision.ALLOW
    assert allowed == [6, 16]
    vm3_done = next(t for t, kind, action, _ in world.log if kind == "run-finished")
    assert minutes(16) - vm3_done >= timedelta(seconds=300)
    # VM4's run ends at 00:21; from then on every alert is BLOCK_MAX (checked before the cooldown),
    # each one (re)starting the scale-out cooldown.
    assert all(decisions[m] == Decision.BLOCK_MAX for m in range(21, 52, 5))
    assert world.count == 4
    assert world.last_out == minutes(51)


def test_seed_13_2_scale_out_with_alert_during_run():
    """A repeat arriving while the run is still in flight is BLOCK_IN_PROGRESS (a run in flight blocks new actions)."""
    world = World(count=2, run_minutes={OUT: 7, IN: 2})
    assert world.alert(minutes(6), OUT) == Decision.ALLOW
    assert world.alert(minutes(11), OUT) == Decision.BLOCK_IN_PROGRESS
    assert world.alert(minutes(16), OUT) == Decision.BLOCK_COOLDOWN  # run ended 00:13 → cooldown to 00:18
    assert world.alert(minutes(21), OUT) == Decision.ALLOW
    assert world.alert(minutes(26), OUT) == Decision.BLOCK_IN_PROGRESS
    assert world.alert(minutes(31), OUT) == Decision.BLOCK_MAX  # run ended 00:28: at the maximum
    assert world.alert(minutes(36), OUT) == Decision.BLOCK_MAX
    assert world.count == 4


def test_seed_13_2_scale_in_replay():
    world = World(count=4)
    # Load falls at 00:05; after 5 minutes below 30 % the scale-in alert fires at 00:10, repeated every 300 s.
    decisions = {m: world.alert(minutes(m), IN) for m in range(10, 56, 5)}
    world.advance(minutes(60))
    allowed = [m for m, d in decisions.items() if d == Decision.ALLOW]

    assert decisions[10] == Decision.ALLOW  # VM4 removed 00:10–00:12
    assert decisions[15] == Decision.BLOCK_COOLDOWN  # cooldown 00:12–00:17
    assert decisions[20] == Decision.ALLOW  # VM3 removed 00:20–00:22
    # From 00:25 on the count is at the minimum: BLOCK_MIN (before the cooldown check), starting the cooldown.
    assert all(decisions[m] == Decision.BLOCK_MIN for m in range(25, 56, 5))
    assert world.last_in == minutes(55)
    assert allowed == [10, 20]  # removes exactly two
    assert world.count == 2  # stops at the minimum


def test_replay_out_then_in_uses_separate_cooldowns():
    world = World(count=2)
    assert world.alert(minutes(0), OUT) == Decision.ALLOW
    world.advance(minutes(5))
    assert world.count == 3
    # Scale-out cooldown runs until 00:10, but scale-in has its own (unset) cooldown.
    assert world.alert(minutes(6), IN) == Decision.ALLOW
    world.advance(minutes(8))
    assert world.count == 2
    assert world.alert(minutes(9), OUT) == Decision.BLOCK_COOLDOWN
    assert world.alert(minutes(9), IN) == Decision.BLOCK_MIN


def test_decision_input_is_immutable():
    inp = base()
    with pytest.raises(AttributeError):
        inp.current_vm_count = 3  # type: ignore[misc]
    assert replace(inp, current_vm_count=3).current_vm_count == 3
