"""Why a decision went the way it did: a code and its parameters, stored beside the English sentence.

A :class:`Reason` *is* its English sentence (a ``str``), so the API, the CSV export, notifications and searches
keep reading ``ScaleEvent.reason`` as before; it also carries ``code`` and ``params``, which the decision service
stores in ``ScaleEvent.reason_code`` / ``reason_params``. Pages show :func:`reason_display`: the sentence of the
code, translated into the reader's language, with the parameters put in — an integration error among them
explained in the same language (:func:`ixnode.integrations.problems.explain_text`), a nested reason shown the same
way, a label stored as its English msgid translated.

Rows written before codes existed, and reasons from elsewhere, have no code: their stored text is shown, translated
when it is exactly one of the product's own sentences (a msgid of the catalogue), as is otherwise.

To add a reason: a code and its sentence in :data:`REASONS` (with ``gettext_noop`` so ``makemessages`` picks it
up), its Korean in ``locale/ko/LC_MESSAGES/django.po``, and ``Reason("code", **params)`` where it is decided. An app
above ``events`` with sentences of its own (the policies' evaluation notes, ``policies.engine.notes``) adds them with
:func:`reasons_register`, under codes of its own.

A parameter may be a list (of reasons or plain values): it reads as its items joined by "; ", each shown as above —
an evaluation's notes. :func:`reason_parts` / :func:`parts_display` keep a whole reason in one JSON value (its
English text beside the code and parameters) where a row has no ``reason_code`` / ``reason_params`` of its own;
stored parts that cannot be read any more show the English text, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ixnode.integrations.problems import explain_text


@dataclass(frozen=True)
class ReasonSpec:
    """One reason's English sentence (a msgid) and how its parameters are shown."""

    text: str
    explain: tuple[str, ...] = ()  # parameters holding an integration message: explained in the reader's language
    msgids: tuple[str, ...] = ()  # parameters holding an English msgid (a label): translated


REASONS: dict[str, ReasonSpec] = {
    "config_disabled": ReasonSpec(gettext_noop("The autoscaling config is disabled.")),
    "in_flight": ReasonSpec(
        gettext_noop("A scaling run is already in flight for this service; it must finish first.")),
    "count_unknown": ReasonSpec(gettext_noop("The current VM count could not be read from Prometheus.")),
    "count_unknown_error": ReasonSpec(
        gettext_noop("The current VM count could not be read from Prometheus: %(error)s."), explain=("error",)),
    "count_unsettled": ReasonSpec(gettext_noop(
        "The VM count is not known yet: Prometheus (re)loaded its configuration %(ago).0f s ago and has not finished "
        "discovering job %(job)s (%(seen)d targets listed, %(unscraped)d not scraped yet); it is trusted once every "
        "target is scraped or after %(settle).0f s.")),
    "count_mismatch": ReasonSpec(gettext_noop(
        "The VM count is not known: Prometheus lists %(seen)d targets for job %(job)s but %(registered)d are "
        "registered for the service; waiting for Prometheus to catch up.")),
    "count_registered_unreadable": ReasonSpec(gettext_noop(
        "The VM count could not be checked against the service's registered targets: %(error)s."),
        explain=("error",)),
    "at_max": ReasonSpec(
        gettext_noop("%(count)d VMs is at or above the maximum of %(max)d; scale-out cooldown started.")),
    "at_min": ReasonSpec(
        gettext_noop("%(count)d VMs is at or below the minimum of %(min)d; scale-in cooldown started.")),
    "cooldown_out": ReasonSpec(gettext_noop("Scale-out is in cooldown for another %(left).0f s.")),
    "cooldown_in": ReasonSpec(gettext_noop("Scale-in is in cooldown for another %(left).0f s.")),
    "ip_pool_empty": ReasonSpec(gettext_noop("The IP pool has no free address left.")),
    "adding_partial": ReasonSpec(gettext_noop(
        "Adding %(free)d of %(moved)d VMs: only %(free)d free addresses in the IP pool (%(count)d → %(after)d, "
        "maximum %(max)d).")),
    "adding": ReasonSpec(gettext_noop("Adding %(moved)d VM(s): %(count)d → %(after)d (maximum %(max)d).")),
    "removing": ReasonSpec(gettext_noop("Removing %(moved)d VM(s): %(count)d → %(after)d (minimum %(min)d).")),
    "with_ip_pool_note": ReasonSpec(gettext_noop("%(reason)s (IP pool: %(note)s)"), explain=("note",)),
    "suspended_out": ReasonSpec(gettext_noop("Scale-out is suspended for this service by the operator.")),
    "suspended_in": ReasonSpec(gettext_noop("Scale-in is suspended for this service by the operator.")),
    "scaled_by_policy": ReasonSpec(gettext_noop(
        "Alert not acted on: this service scales by its %(policy)s policy (evaluated every %(interval)d s)."),
        msgids=("policy",)),
}


#: How the items of a list parameter are joined (an evaluation's notes), in English and in Korean alike.
LIST_SEPARATOR = "; "


def reasons_register(specs: Mapping[str, ReasonSpec]) -> None:
    """Add the reasons of an app above ``events`` to :data:`REASONS` (codes must not clash: a code registered again
    must have the same sentence). Idempotent, so the registering module may be imported any number of times."""
    for code, spec in specs.items():
        known = REASONS.get(code)
        if known is not None and known != spec:
            raise ValueError(f"reason code {code!r} is already registered with another sentence")
        REASONS[code] = spec


# A failed run's error (provisioning.runner writes it; the event page shows it with the stage's title).
STAGE_FAILED = "Stage '%(stage)s' failed: %(error)s"


class Reason(str):
    """A reason's English sentence that also knows its code and parameters."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, /, **params: Any) -> Reason:
        spec = REASONS[code]
        text = spec.text % {key: _english(key, value, spec) for key, value in params.items()} if params else spec.text
        obj = super().__new__(cls, text)
        obj.code, obj.params = code, params
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles (``dataclasses.asdict``, ``copy.deepcopy``, the task queue) rebuild from the code.
        return (_reason_rebuilt, (self.code, self.params))

    def stored_params(self) -> dict[str, Any]:
        """The parameters as JSON (a nested reason as ``{"code": …, "params": …}``)."""
        return {key: _stored(value) for key, value in self.params.items()}


def is_reason(value: object) -> bool:
    """``value`` is a :class:`Reason` (its code and parameters kept), not a plain text."""
    return isinstance(value, Reason)


def _reason_rebuilt(code: str, params: dict[str, Any]) -> Reason:
    return Reason(code, **params)


def msgid_of(label: Any) -> str:
    """A lazy label's English msgid (what a reason stores; :func:`reason_display` translates it)."""
    with translation.override(None):
        return str(label)


def _english(key: str, value: Any, spec: ReasonSpec) -> Any:
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(item) for item in value)
    if isinstance(value, str) and key in spec.explain:
        return value.rstrip(".")  # a sentence inside a sentence: its own full stop would double the outer one
    return value


def _stored(value: Any) -> Any:
    if isinstance(value, Reason):
        return {"code": value.code, "params": value.stored_params()}
    if isinstance(value, list | tuple):
        return [_stored(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no NaN/infinity (PostgreSQL refuses them); shown as the stored text then
    return value


def reason_fields(reason: str) -> dict[str, Any]:
    """The ScaleEvent fields recording ``reason`` (text always; code and parameters when it has them)."""
    if isinstance(reason, Reason):
        return {"reason": str(reason), "reason_code": reason.code, "reason_params": reason.stored_params()}
    return {"reason": str(reason), "reason_code": "", "reason_params": {}}


def reason_parts(reason: str, *, with_text: bool = False) -> dict[str, Any]:
    """``reason`` as one JSON value: ``{"code": …, "params": …}`` ({} for a text without a code), with
    ``with_text`` also its English sentence under ``"text"`` (what :func:`parts_display` falls back to)."""
    parts: dict[str, Any] = {}
    if isinstance(reason, Reason):
        parts = {"code": reason.code, "params": reason.stored_params()}
    if with_text and reason:
        parts["text"] = str(reason)
    return parts


def parts_display(parts: Any, *, text: str = "") -> str:
    """A reason kept by :func:`reason_parts`, in the active language. Without a code, with a code or parameters this
    version does not know, or with parts that are not what :func:`reason_parts` writes (an older or damaged row):
    the stored English text (``parts["text"]``, else ``text``), never an error."""
    stored = parts.get("text") if isinstance(parts, Mapping) else None
    fallback = stored if isinstance(stored, str) and stored else text
    if not isinstance(parts, Mapping) or not isinstance(parts.get("code"), str) or not parts["code"]:
        return reason_display(code="", params={}, text=fallback)
    params = parts.get("params") or {}
    if not isinstance(params, Mapping):
        return fallback
    try:
        return reason_display(code=parts["code"], params=params, text=fallback)
    except Exception:  # noqa: BLE001 - stored JSON of another version (a nested value of another shape): its text
        return fallback


def _shown(key: str, value: Any, spec: ReasonSpec) -> Any:
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(_shown(key, item, spec)) for item in value)
    if isinstance(value, Mapping) and "code" in value:
        shown = reason_display(code=str(value["code"]), params=value.get("params") or {}, text="")
        return shown.rstrip(".") if key in spec.explain else shown
    if isinstance(value, str) and key in spec.explain:
        return explain_text(value).summary.rstrip(".")
    if isinstance(value, str) and key in spec.msgids:
        return _(value)
    return value


def reason_display(*, code: str, params: Mapping[str, Any] | None, text: str) -> str:
    """The reason in the active language (the stored text when the code is unknown)."""
    spec = REASONS.get(code) if code else None
    if spec is None:
        return _(text) if text else ""
    values = {key: _shown(key, value, spec) for key, value in (params or {}).items()}
    try:
        return _(spec.text) % values if values else _(spec.text)
    except (KeyError, TypeError, ValueError):  # parameters of an older wording: the stored text is still right
        return text or spec.text
