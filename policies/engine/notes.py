"""What a policy evaluation says, as codes and parameters: the catalogue of its notes and outcome sentences.

An evaluation's reason (``PolicyOutcome.reason``) is an :class:`events.reasons.Reason`: its English sentence (what
``ScalingPolicy.last_evaluation``, the policy API, the simulator and searches read, as before) that also keeps the
code and the parameters, so the pages, the admin and the event page show it in the reader's language
(``events.reasons.reason_display``). Parameters are values (numbers, counts, a window's key), formatted by the
sentence when it is shown; the notes of one evaluation are one list parameter (joined by "; "), and the decision's
own reason (``decide()``'s, a reason of ``events.reasons``) is a nested reason.

The codes live in ``events.reasons.REASONS`` beside the decision reasons (registered when this module is imported,
so every evaluation has them and so do pages reading stored rows: ``PoliciesAppConfig.ready`` imports it). Add a
sentence here with ``gettext_noop`` and its Korean in ``locale/ko/LC_MESSAGES/django.po``.

Pure: no database, no clock (the engine's rule).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from events.reasons import Reason, ReasonSpec, reasons_register

NOTES: dict[str, ReasonSpec] = {
    # -- outcomes: what the evaluation concluded (the sentence around its notes)
    "policy_count_unknown": ReasonSpec(gettext_noop("No action: the current VM count is unknown.")),
    "policy_count_unknown_error": ReasonSpec(
        gettext_noop("No action: the current VM count is unknown: %(error)s."), explain=("error",)),
    "policy_metric_unknown": ReasonSpec(
        gettext_noop("No action: utilisation unknown (no VM past its warm-up).")),
    "policy_metric_unknown_error": ReasonSpec(
        gettext_noop("No action: utilisation unknown: %(error)s."), explain=("error",)),
    "policy_no_samples": ReasonSpec(gettext_noop("no %(metric)s samples for job %(job)s")),
    "policy_samples_infinite": ReasonSpec(gettext_noop(
        "the %(metric)s readings of job %(job)s are infinite (%(instances)s): check node_exporter's metrics on "
        "those VMs")),
    "policy_no_change": ReasonSpec(gettext_noop("No change: %(notes)s.")),
    "policy_no_change_count": ReasonSpec(gettext_noop("No change: %(count)d VMs.")),
    "policy_suspended_out": ReasonSpec(gettext_noop("Scale-out suspended by the operator (%(notes)s).")),
    "policy_suspended_out_bare": ReasonSpec(gettext_noop("Scale-out suspended by the operator.")),
    "policy_suspended_in": ReasonSpec(gettext_noop("Scale-in suspended by the operator (%(notes)s).")),
    "policy_suspended_in_bare": ReasonSpec(gettext_noop("Scale-in suspended by the operator.")),
    "policy_flapping": ReasonSpec(gettext_noop(
        "No scale-in: %(remaining)d VMs would run at %(projected).0f%%, above the scale-out threshold "
        "%(threshold)g%% (flapping check).")),
    "policy_decided": ReasonSpec(gettext_noop("%(decision)s Policy: %(notes)s.")),
    "policy_forecast_only": ReasonSpec(gettext_noop("Forecast only: would scale to %(count)d VMs.")),
    # -- notes of the target tracking and predictive policies
    "tt_utilisation": ReasonSpec(gettext_noop("utilisation %(metric).1f%% vs target %(target)g%% → %(count)d VMs")),
    "tt_stabilised": ReasonSpec(gettext_noop("stabilisation window keeps %(count)d")),
    "forecast_peak": ReasonSpec(gettext_noop("forecast peak %(peak).0f VM-%% → at least %(count)d VMs")),
    "forecast_none": ReasonSpec(gettext_noop("no forecast (too little history)")),
    # -- notes of every policy: schedules and the flapping check
    "scheduled_action": ReasonSpec(gettext_noop("scheduled action %(window)s sets %(count)d VMs")),
    "scheduled_bounds": ReasonSpec(gettext_noop("scheduled bounds %(min)d..%(max)d")),
    "flapping_limit": ReasonSpec(gettext_noop("flapping check limits the scale-in to %(count)d")),
    # -- notes of the recommended policy (policies.engine.recommended)
    "rec_margin_noise": ReasonSpec(gettext_noop(
        "scale-out margin %(margin)g points (%(k)g × the fresh reading's noise %(noise).1f points over the last "
        "%(minutes)d min, %(low)g–%(high)g)")),
    "rec_no_margin": ReasonSpec(gettext_noop(
        "no scale-out margin: %(share).0f%% of the fresh readings of the last %(minutes)d min, at the level "
        "expected when a clone would serve, overload %(count)d VMs (the margin pays from %(pays).0f%%)")),
    "rec_out": ReasonSpec(gettext_noop(
        "utilisation %(fresh).1f%% now, %(window).1f%% over the window, above the scale-out trigger %(trigger)g%% → "
        "%(count)d VMs at the target %(target)g%%")),
    "rec_out_rising": ReasonSpec(gettext_noop(
        "utilisation %(fresh).1f%% now, %(window).1f%% over the window (rising: %(projected).1f%% when a clone "
        "would serve), above the scale-out trigger %(trigger)g%% → %(count)d VMs at the target %(target)g%%")),
    "rec_out_unconfirmed": ReasonSpec(gettext_noop(
        "utilisation %(fresh).1f%% now, %(window).1f%% over the window: above the scale-out trigger %(trigger)g%% "
        "for too short a time, no scale-out yet")),
    "rec_out_unconfirmed_rising": ReasonSpec(gettext_noop(
        "utilisation %(fresh).1f%% now, %(window).1f%% over the window (rising: %(projected).1f%% when a clone "
        "would serve): above the scale-out trigger %(trigger)g%% for too short a time, no scale-out yet")),
    "rec_spike": ReasonSpec(gettext_noop(
        "a spike of %(demand)d VM-%% recurred in the memory, more than %(current)d VMs carry below %(limit)g%% → "
        "%(count)d VMs carry it at %(ceiling)g%% at most")),
    "rec_spike_out_of_reach": ReasonSpec(gettext_noop(
        "a spike of %(demand)d VM-%% recurred in the memory; carrying it needs %(count)d VMs, more than %(reach)d "
        "beyond the %(current)d running: not held, the scale-out serves it when it comes")),
    "rec_margin_not_needed_below": ReasonSpec(gettext_noop(
        "highest demand of the scale-in window %(peak)d VM-%% fits %(count)d VMs below the scale-out threshold "
        "%(threshold)g%%, where the scale-out margin does not pay")),
    "rec_release_like_step": ReasonSpec(gettext_noop(
        "utilisation %(window).1f%% over the window, below the scale-in threshold %(threshold)g%% for the seed's "
        "scale-in duration → %(count)d VMs, as the seed releases headroom")),
    "rec_scale_in_waits_for_seed_rule": ReasonSpec(gettext_noop(
        "the scale-in to %(count)d VMs waits for the seed's scale-in rule (utilisation below %(threshold)g%% for "
        "%(minutes)g min)")),
    "rec_scale_in_waits_for_seed_rule_both": ReasonSpec(gettext_noop(
        "the scale-in to %(count)d VMs waits for the seed's scale-in rule (CPU below %(cpu)g%% and memory below "
        "%(memory)g%% for %(minutes)g min)")),
    "rec_seed_rule_cpu_unknown": ReasonSpec(
        gettext_noop("CPU of the seed's scale-in rule unknown (no VM past its warm-up)")),
    "rec_seed_rule_cpu_unknown_error": ReasonSpec(
        gettext_noop("CPU of the seed's scale-in rule unknown: %(error)s"), explain=("error",)),
    "rec_seed_rule_memory_unknown": ReasonSpec(
        gettext_noop("memory of the seed's scale-in rule unknown (no VM past its warm-up)")),
    "rec_seed_rule_memory_unknown_error": ReasonSpec(
        gettext_noop("memory of the seed's scale-in rule unknown: %(error)s"), explain=("error",)),
    "rec_scale_in": ReasonSpec(gettext_noop(
        "highest demand of the scale-in window %(peak)d VM-%% fits %(count)d VMs at or below %(target)g%%")),
    "rec_hold": ReasonSpec(gettext_noop(
        "utilisation %(fresh).1f%% inside the band (scale-in to %(fewer)d VMs only once the window's highest demand "
        "%(peak)d VM-%% fits at %(target)g%% and the load of now at %(below)g%%)")),
    "rec_hold_spike": ReasonSpec(gettext_noop(
        "utilisation %(fresh).1f%% inside the band (scale-in to %(fewer)d VMs only once the window's highest demand "
        "%(peak)d VM-%% fits at %(target)g%% and the load of now at %(below)g%%, a recurring spike of %(demand)d "
        "VM-%% at %(ceiling)g%%)")),
    "rec_periodic_spike": ReasonSpec(gettext_noop(
        "a spike of %(demand)d VM-%% recurs every %(period).0f min (next in %(minutes).0f min): %(count)d VMs carry "
        "it below %(threshold)g%%, ready a clone's lead time before it")),
    "rec_anticipate": ReasonSpec(gettext_noop("scale out to %(count)d VMs ahead of it")),
    "guard_seed_count": ReasonSpec(gettext_noop(
        "step guard: kept at the seed's %(count)d VMs (%(spare).1f min less overload than the seed so far, fewer "
        "than the %(reserve).1f min a count below it needs)")),
    "guard_vm_hours_spent": ReasonSpec(gettext_noop(
        "step guard: held at the seed's %(count)d VMs (%(own).1f VM-h so far against the seed's %(seed).1f: the "
        "%(share)g%% more it may spend is spent)")),
}

reasons_register(NOTES)


class Note:
    """One note or outcome of an evaluation, not yet put into words: its code and parameters. An evaluation makes
    several every minute and its reason is read far less often (the simulator never reads it), so the sentence is
    made when it is read (:meth:`reason`)."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, params: dict[str, Any]) -> None:
        self.code, self.params = code, params

    def reason(self) -> Reason:
        """The note as a :class:`~events.reasons.Reason` (its English sentence, code and parameters; a note among
        its parameters as a nested reason)."""
        return Reason(self.code, **{key: spoken(value) for key, value in self.params.items()})

    def __str__(self) -> str:
        return str(self.reason())

    def __repr__(self) -> str:
        return f"Note({self.code!r}, {self.params!r})"


def spoken(value: Any) -> Any:
    """``value`` with every :class:`Note` in it (itself, or the items of a list) as its reason."""
    if isinstance(value, Note):
        return value.reason()
    if isinstance(value, list | tuple):
        return [spoken(item) for item in value]
    return value


def note(code: str, /, **params: Any) -> Note:
    """One note or outcome of an evaluation (its code and parameters; :meth:`Note.reason` its sentence)."""
    if code not in NOTES:
        raise KeyError(f"{code!r} is not a policy note (policies.engine.notes.NOTES)")
    return Note(code, params)
