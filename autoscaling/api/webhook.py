"""``POST /api/webhook/autoscale/<serviceName>``: Alertmanager's webhook (payload version 4)."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from autoscaling import selectors
from autoscaling.api.authentication import IsWebhookCaller, WebhookBearerAuthentication
from autoscaling.services.webhook import AUTOSCALE_LABEL, alertmanager_notification_handle
from events.choices import ScaleAction
from events.models import text_renderable, value_renderable
from ixnode.metrics import WEBHOOK_LATENCY

logger = logging.getLogger(__name__)

ALERT_STATUSES = ["firing", "resolved"]

# Label (and annotation) names: what every database stores and every page renders. Prometheus' own names are
# [a-zA-Z_][a-zA-Z0-9_]*; anything printable is accepted, never a control character or a lone surrogate (which
# PostgreSQL refuses, and which SQLite stores but no page can show).
LABEL_NAME_MAX = 256
LABELS_MAX = 128
_NAME_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Label values: also no control character but tab and line breaks (DRF's CharField already refuses NUL and
# surrogates).
_VALUE_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def label_name_error(name: Any) -> str | None:
    """Why ``name`` cannot be a label or annotation name (None when it can)."""
    if type(name) is not str or not name:
        return _("A label name must be a non-empty string.")
    if len(name) > LABEL_NAME_MAX:
        return _("The label name '%(name)s…' is longer than %(max)d characters.") % {
            "name": text_renderable(name[:40]), "max": LABEL_NAME_MAX}
    bad = _NAME_UNSAFE.search(name)
    if bad:
        return _("The label name '%(name)s' holds %(character)s: control characters and lone surrogates are not "
                 "allowed in label names.") % {"name": _escaped(name), "character": f"U+{ord(bad.group()):04X}"}
    return None


def label_value_error(value: str) -> str | None:
    """Why the (string) label value cannot be stored (None when it can)."""
    bad = _VALUE_UNSAFE.search(value)
    if bad:
        return _("The label value '%(value)s' holds %(character)s: control characters other than tab and line "
                 "breaks, and lone surrogates, are not allowed.") % {"value": _escaped(value[:60]),
                                                                      "character": f"U+{ord(bad.group()):04X}"}
    return None


def _escaped(text: str) -> str:
    return _NAME_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class LabelsField(serializers.DictField):
    """A JSON object of label (or annotation) names to strings; names are checked before their values."""

    def __init__(self, *, values: str = "label", **kwargs: Any) -> None:
        self.values = values
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict):
            if len(data) > LABELS_MAX:
                raise serializers.ValidationError(_("At most %(max)d labels are accepted, got %(count)d.")
                                                  % {"max": LABELS_MAX, "count": len(data)})
            errors = [error for error in map(label_name_error, data) if error]
            if self.values == "label":  # label values are strings in Prometheus and Alertmanager, never numbers
                errors += [_("The value of label '%(name)s' must be a string, got %(type)s.")
                           % {"name": text_renderable(str(name)),
                              "type": type(value).__name__ if value is not None else "null"}
                           for name, value in data.items() if not isinstance(value, str)]
            if errors:
                raise serializers.ValidationError(errors)
        out = super().to_internal_value(data)
        if self.values == "label":
            errors = [error for error in (label_value_error(v) for v in out.values() if isinstance(v, str)) if error]
            if errors:
                raise serializers.ValidationError(errors)
        return out


class AlertSerializer(serializers.Serializer):
    """One alert of the notification (Alertmanager webhook_config payload)."""

    status = serializers.ChoiceField(ALERT_STATUSES)
    labels = LabelsField(child=serializers.CharField(allow_blank=True, max_length=1024))
    annotations = LabelsField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict, values="annotation"
    )
    startsAt = serializers.DateTimeField(required=False, allow_null=True, default=None)  # noqa: N815
    # Not used; kept a string: Alertmanager sends year 1 ("0001-01-01T00:00:00Z") for firing alerts.
    endsAt = serializers.CharField(required=False, allow_blank=True, max_length=64)  # noqa: N815
    generatorURL = serializers.CharField(required=False, allow_blank=True, max_length=4096)  # noqa: N815
    fingerprint = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")

    def validate_labels(self, labels: dict[str, str]) -> dict[str, str]:
        allowed = [choice.value for choice in ScaleAction]
        if AUTOSCALE_LABEL not in labels:
            raise serializers.ValidationError(
                _("The alert has no '%(label)s' label; it must be one of: %(allowed)s.")
                % {"label": AUTOSCALE_LABEL, "allowed": ", ".join(allowed)}
            )
        if labels[AUTOSCALE_LABEL] not in allowed:
            raise serializers.ValidationError(
                _("Unknown '%(label)s' label value '%(value)s'; use one of: %(allowed)s.")
                % {"label": AUTOSCALE_LABEL, "value": labels[AUTOSCALE_LABEL], "allowed": ", ".join(allowed)}
            )
        return labels


class AlertmanagerPayloadSerializer(serializers.Serializer):
    """Alertmanager webhook payload, version 4."""

    version = serializers.ChoiceField(["4"], help_text="Payload version; Alertmanager sends \"4\".")
    groupKey = serializers.CharField(required=False, allow_blank=True, max_length=4096)  # noqa: N815
    truncatedAlerts = serializers.IntegerField(required=False, min_value=0, default=0)  # noqa: N815
    status = serializers.ChoiceField(ALERT_STATUSES)
    receiver = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    groupLabels = LabelsField(child=serializers.CharField(allow_blank=True), required=False)  # noqa: N815
    commonLabels = LabelsField(child=serializers.CharField(allow_blank=True), required=False)  # noqa: N815
    commonAnnotations = LabelsField(  # noqa: N815
        child=serializers.CharField(allow_blank=True), required=False, values="annotation"
    )
    externalURL = serializers.CharField(required=False, allow_blank=True, max_length=4096)  # noqa: N815
    alerts = AlertSerializer(many=True, max_length=1000)  # type: ignore[call-arg]  # DRF ≥ 3.14 has it; the stubs not


_UNSAFE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")  # DRF's CharField refuses null and surrogate characters
_STARTS_AT = serializers.DateTimeField(allow_null=True)
_ACTIONS = frozenset(choice.value for choice in ScaleAction)
_MISSING = object()


def _text(value: Any, max_length: int | None = None) -> str | None:
    """What DRF's ``CharField(allow_blank=True, max_length=…)`` returns for a plain string; None when that field
    might answer anything else (not a string, too long, a null or surrogate character)."""
    if type(value) is not str or _UNSAFE_CHARACTERS.search(value):
        return None
    value = value.strip()
    return value if max_length is None or len(value) <= max_length else None


def _texts(value: Any, max_length: int | None = None, *, labels: bool = True) -> dict[str, str] | None:
    """``LabelsField(child=CharField(allow_blank=True, …))`` of a JSON object of strings, or None (names and, for
    labels, values checked as the field does)."""
    if type(value) is not dict or len(value) > LABELS_MAX:
        return None
    out = {}
    for key, item in value.items():
        text = _text(item, max_length)
        if text is None or label_name_error(key) is not None or (labels and label_value_error(text) is not None):
            return None
        out[key] = text
    return out


def _optional_texts_ok(data: dict, lengths: dict[str, int | None], mappings: dict[str, bool]) -> bool:
    return all(data.get(name, "") == "" or _text(data[name], length) is not None for name, length in lengths.items()) \
        and all(name not in data or _texts(data[name], labels=labels) is not None for name, labels in mappings.items())


def payload_fast_validate(data: Any) -> dict[str, Any] | None:
    """The validated data the view uses (``alerts``: status, labels, fingerprint, startsAt; ``receiver``) for a
    well-formed payload, without building DRF's serializers; None when the payload is anything but plainly valid,
    and the view then validates it with ``AlertmanagerPayloadSerializer`` (same answer, its 400 field errors).

    Accepts only what the serializer accepts, and returns what it would return for those fields (stripped
    strings, parsed ``startsAt``); anything unusual (numbers for strings, nulls, too long values, unknown
    ``autoscale`` values…) goes the serializer's way.
    """
    if type(data) is not dict or data.get("version") != "4" or data.get("status") not in ALERT_STATUSES:
        return None
    truncated = data.get("truncatedAlerts", 0)
    if type(truncated) is not int or truncated < 0:
        return None
    if not _optional_texts_ok(data, {"groupKey": 4096, "receiver": 255, "externalURL": 4096},
                              {"groupLabels": True, "commonLabels": True, "commonAnnotations": False}):
        return None
    receiver = _text(data.get("receiver", ""), 255)
    alerts_in = data.get("alerts")
    if type(alerts_in) is not list or len(alerts_in) > 1000:
        return None
    alerts = []
    for alert in alerts_in:
        if type(alert) is not dict or alert.get("status") not in ALERT_STATUSES:
            return None
        labels = _texts(alert.get("labels"), 1024)
        if labels is None or labels.get(AUTOSCALE_LABEL) not in _ACTIONS:
            return None
        if not _optional_texts_ok(alert, {"endsAt": 64, "generatorURL": 4096, "fingerprint": 64},
                                  {"annotations": False}):
            return None
        starts_at = alert.get("startsAt")
        if starts_at is not None:
            try:
                starts_at = _STARTS_AT.run_validation(starts_at)
            except serializers.ValidationError:
                return None
        alerts.append({"status": alert["status"], "labels": labels, "startsAt": starts_at,
                       "fingerprint": _text(alert.get("fingerprint", ""), 64)})
    return {"alerts": alerts, "receiver": receiver}


class DecisionOutSerializer(serializers.Serializer):
    action = serializers.ChoiceField(ScaleAction.choices)
    decision = serializers.CharField()
    reason = serializers.CharField()
    event_id = serializers.IntegerField()
    status = serializers.CharField()
    count = serializers.IntegerField(help_text="VMs the run adds or removes (0 when blocked).")
    current_vm_count = serializers.IntegerField(allow_null=True)
    alert_name = serializers.CharField()
    fingerprint = serializers.CharField()


class IgnoredAlertSerializer(serializers.Serializer):
    alert_name = serializers.CharField()
    fingerprint = serializers.CharField()
    action = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    event_id = serializers.IntegerField(
        required=False, help_text="A re-delivery of an alert instance: the event it was answered with.")


class WebhookResponseSerializer(serializers.Serializer):
    service = serializers.CharField()
    decisions = DecisionOutSerializer(many=True)
    ignored = IgnoredAlertSerializer(many=True)


ERROR = inline_serializer("WebhookError", {"detail": serializers.CharField()})
INVALID = inline_serializer("WebhookInvalid", {
    "detail": serializers.CharField(help_text="The first error, with its field path; nothing was decided."),
    "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                    help_text="Every error by field path, e.g. alerts[1].labels."),
})


def _field_paths(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors by field path (``alerts[1].labels``)."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = str(key)
            path = f"{prefix}[{name}]" if prefix and name.isdigit() else f"{prefix}.{name}" if prefix else name
            out.update(_field_paths(value, path))
    elif isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        if errors:
            out[prefix or "non_field_errors"] = [str(item) for item in errors]
    elif isinstance(errors, list):
        for index, item in enumerate(errors):
            if item:
                out.update(_field_paths(item, f"{prefix}[{index}]"))
    else:
        out[prefix or "non_field_errors"] = [str(errors)]
    return out


def invalid_payload_response(errors: Any) -> Response:
    """400 for a notification that cannot be decided as it is (a permanent error: Alertmanager must not retry):
    DRF's nested field errors, ``fields`` by path and ``detail`` naming the first. Every text is renderable (a
    hostile label name is shown escaped)."""
    nested = value_renderable(errors)
    paths = _field_paths(nested)
    first = next(iter(paths.items()), ("payload", ["invalid"]))
    body = {**nested, "detail": _("Invalid notification, nothing was decided: %(field)s: %(error)s")
            % {"field": first[0], "error": first[1][0]},
            "fields": paths}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class AutoscaleWebhookView(APIView):
    """Decide one scaling action per firing alert of an Alertmanager notification."""

    authentication_classes = [WebhookBearerAuthentication]
    permission_classes = [IsWebhookCaller]

    @extend_schema(
        operation_id="webhook_autoscale",
        description=(
            "Decide one scaling action per firing alert of an Alertmanager notification (webhook payload version 4, "
            "`application/json` only). Every alert must carry the label `autoscale` with the value `scale-out` or "
            "`scale-in` (the product's alert rules set it); a notification with an alert without it is refused "
            "whole (400). Resolved alerts are listed under `ignored`. 503 (with `Retry-After`) while the database "
            "is unavailable or busy: Alertmanager retries the notification. Bodies above "
            "`DATA_UPLOAD_MAX_MEMORY_SIZE` get 413, JSON nested deeper than `IXNODE_API_JSON_MAX_DEPTH` 400."
        ),
        request=AlertmanagerPayloadSerializer,
        responses={
            200: WebhookResponseSerializer,
            400: OpenApiResponse(INVALID, description="Malformed payload: field errors (nested, and by path in "
                                                        "`fields`); no alert of the notification was decided."),
            401: ERROR,
            404: ERROR,
            503: ERROR,
        },
        tags=["webhook"],
    )
    def post(self, request: Request, service_name: str) -> Response:
        started = time.perf_counter()
        config = selectors.config_get_for_decision(service_name=service_name)
        if config is None:
            raise NotFound(_("No autoscaling config for service '%(service)s'.") % {"service": service_name})
        try:
            # The whole notification is validated before any of its alerts is decided: a bad second alert must not
            # leave the first one decided (and its run started) behind a 400.
            data = payload_fast_validate(request.data)
            if data is None:  # anything unusual: the serializer decides, with its field errors
                payload = AlertmanagerPayloadSerializer(data=request.data)
                if not payload.is_valid():
                    return invalid_payload_response(payload.errors)
                data = payload.validated_data
            try:
                outcome = alertmanager_notification_handle(
                    config=config, alerts=data["alerts"], receiver=data.get("receiver", "")
                )
            except DatabaseError as exc:
                logger.warning("webhook for %s: database error, answered 503 for a retry: %s: %s",
                               config.service_name, exc.__class__.__name__, exc)
                # A busy or unreachable database is transient: 503 makes Alertmanager retry the notification.
                return Response(
                    {"detail": _("The database is busy or unreachable; retry the notification.")},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={"Retry-After": str(settings.IXNODE_HTTP_RETRY_AFTER_SECONDS)},
                )
            body = {
                "service": config.service_name,
                "decisions": [
                    {
                        "action": event.action,
                        "decision": event.decision,
                        "reason": event.reason,
                        "event_id": event.pk,
                        "status": event.status,
                        "count": event.requested_count,
                        "current_vm_count": event.current_vm_count,
                        "alert_name": event.alert_name,
                        "fingerprint": event.alert_fingerprint,
                    }
                    for event in outcome.events
                ],
                "ignored": outcome.ignored,
            }
            return Response(body)
        finally:
            WEBHOOK_LATENCY.labels(config.service_name).observe(time.perf_counter() - started)


@extend_schema(exclude=True)
class AutoscaleWebhookSlashView(AutoscaleWebhookView):
    """The same endpoint with a trailing slash (Alertmanager URLs are often written either way)."""
