"""``POST /api/webhook/autoscale/<serviceName>``: Alertmanager's webhook (payload version 4)."""

from __future__ import annotations

import re
import time
from typing import Any

from django.db import DatabaseError
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
from ixnode.metrics import WEBHOOK_LATENCY

ALERT_STATUSES = ["firing", "resolved"]


class AlertSerializer(serializers.Serializer):
    """One alert of the notification (Alertmanager webhook_config payload)."""

    status = serializers.ChoiceField(ALERT_STATUSES)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1024))
    annotations = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
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
                f"The alert has no '{AUTOSCALE_LABEL}' label; it must be one of: {', '.join(allowed)}."
            )
        if labels[AUTOSCALE_LABEL] not in allowed:
            raise serializers.ValidationError(
                f"Unknown '{AUTOSCALE_LABEL}' label value '{labels[AUTOSCALE_LABEL]}'; use one of: "
                f"{', '.join(allowed)}."
            )
        return labels


class AlertmanagerPayloadSerializer(serializers.Serializer):
    """Alertmanager webhook payload, version 4."""

    version = serializers.ChoiceField(["4"], help_text="Payload version; Alertmanager sends \"4\".")
    groupKey = serializers.CharField(required=False, allow_blank=True, max_length=4096)  # noqa: N815
    truncatedAlerts = serializers.IntegerField(required=False, min_value=0, default=0)  # noqa: N815
    status = serializers.ChoiceField(ALERT_STATUSES)
    receiver = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    groupLabels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)  # noqa: N815
    commonLabels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)  # noqa: N815
    commonAnnotations = serializers.DictField(  # noqa: N815
        child=serializers.CharField(allow_blank=True), required=False
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


def _texts(value: Any, max_length: int | None = None) -> dict[str, str] | None:
    """``DictField(child=CharField(allow_blank=True, …))`` of a JSON object of strings, or None."""
    if type(value) is not dict:
        return None
    out = {}
    for key, item in value.items():
        text = _text(item, max_length)
        if text is None:
            return None
        out[str(key)] = text
    return out


def _optional_texts_ok(data: dict, lengths: dict[str, int | None], mappings: tuple[str, ...]) -> bool:
    return all(data.get(name, "") == "" or _text(data[name], length) is not None for name, length in lengths.items()) \
        and all(name not in data or _texts(data[name]) is not None for name in mappings)


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
                              ("groupLabels", "commonLabels", "commonAnnotations")):
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
        if not _optional_texts_ok(alert, {"endsAt": 64, "generatorURL": 4096, "fingerprint": 64}, ("annotations",)):
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


class WebhookResponseSerializer(serializers.Serializer):
    service = serializers.CharField()
    decisions = DecisionOutSerializer(many=True)
    ignored = IgnoredAlertSerializer(many=True)


ERROR = inline_serializer("WebhookError", {"detail": serializers.CharField()})


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
            400: OpenApiResponse(description="Malformed payload: field errors."),
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
            raise NotFound(f"No autoscaling config for service '{service_name}'.")
        try:
            data = payload_fast_validate(request.data)
            if data is None:  # anything unusual: the serializer decides, with its field errors
                payload = AlertmanagerPayloadSerializer(data=request.data)
                payload.is_valid(raise_exception=True)
                data = payload.validated_data
            try:
                outcome = alertmanager_notification_handle(
                    config=config, alerts=data["alerts"], receiver=data.get("receiver", "")
                )
            except DatabaseError:
                # A busy or unreachable database is transient: 503 makes Alertmanager retry the notification.
                return Response(
                    {"detail": "The database is busy or unreachable; retry the notification."},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={"Retry-After": "5"},
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
