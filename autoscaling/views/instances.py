"""The instances panel's actions: scale out/in by N, set a desired count, protect/unprotect a VM. Thin: parse,
call the manual-action services (the decision service with the operator as trigger), say what was decided."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from autoscaling.models import AutoscalingConfig
from autoscaling.services.configs import validation_error_dict
from autoscaling.services.manual import ManualScaleUnavailable, scale_manual, scale_to_desired_count
from autoscaling.services.vms import managed_vm_set_protection
from autoscaling.views import selectors
from events.choices import Decision, EventStatus, ScaleAction
from events.models import ScaleEvent
from events.views.selectors import event_error_display
from provisioning.instances import managed_vm_of_service

logger = logging.getLogger(__name__)

CHANGE_CONFIG = "autoscaling.change_autoscalingconfig"
CHANGE_VM = "autoscaling.change_managedvm"


def _config_or_404(service_name: str) -> AutoscalingConfig:
    config = selectors.service_get(service_name=service_name)
    if config is None:
        raise Http404
    return config


def _back(request: HttpRequest, config: AutoscalingConfig) -> HttpResponse:
    """To the service page's panel; to the panel's own page when the form was posted from there (no JavaScript)."""
    page = "autoscaling:service-instances" if request.POST.get("back") == "instances" else "autoscaling:service"
    return redirect(reverse(page, args=[config.service_name]) + "#instances")


def _announce(request: HttpRequest, event: ScaleEvent) -> None:
    """One message per decision: its label, reason and a link to the event; an error when it was refused."""
    event.refresh_from_db(fields=["status", "error"])  # the run may already have failed to queue
    url = reverse("events:detail", args=[event.pk])
    label = Decision(event.decision).label if event.decision in Decision.values else event.decision
    action = ScaleAction(event.action).label
    if event.status == EventStatus.FAILED:
        messages.error(request, format_html(
            '{} — <span data-decision="{}">{}</span>, {}: {} (<a href="{}">#{}</a>)',
            action, event.decision, label, _("but the run failed"), event_error_display(event.error).summary, url,
            event.pk))
    elif event.decision != Decision.ALLOW:
        messages.error(request, format_html(
            '{} — <span data-decision="{}">{}</span>: {} (<a href="{}">#{}</a>)',
            action, event.decision, label, event.reason_shown, url, event.pk))
    elif event.status == EventStatus.DRY_RUN:
        messages.warning(request, format_html(
            '{} — <span data-decision="{}">{}</span>, {}: {} (<a href="{}">#{}</a>)',
            action, event.decision, label, _("dry run, nothing executed"), event.reason_shown, url, event.pk))
    else:
        messages.success(request, format_html(
            '{} — <span data-decision="{}">{}</span>: {} (<a href="{}">#{}</a>)',
            action, event.decision, label, event.reason_shown, url, event.pk))


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _refused(request: HttpRequest, error: ValidationError) -> None:
    for messages_ in validation_error_dict(error).values():
        for message in messages_:
            messages.error(request, message)


@login_required
@permission_required(CHANGE_CONFIG, raise_exception=True)
@require_POST
def service_scale(request: HttpRequest, service_name: str) -> HttpResponse:
    """``action`` scale-out / scale-in with ``count``, or ``desired`` with ``desired``."""
    config = _config_or_404(service_name)
    action = request.POST.get("action", "")
    user = request.user.get_username()
    try:
        if action == "desired":
            desired = _int(request.POST.get("desired"))
            if desired is None:
                raise ValidationError({"desired": [_("Enter the desired VM count as a whole number.")]})
            outcome = scale_to_desired_count(config=config, desired=desired, user=user)
            if outcome.event is None:
                messages.info(request, _("%(name)s already runs %(count)d VMs; nothing to do.")
                              % {"name": config.service_name, "count": outcome.current})
            else:
                _announce(request, outcome.event)
        else:
            count = _int(request.POST.get("count"))
            if count is None:
                raise ValidationError({"count": [_("Enter how many VMs as a whole number.")]})
            _announce(request, scale_manual(config=config, action=action, count=count, user=user))
    except ValidationError as exc:
        _refused(request, exc)
    except ManualScaleUnavailable as exc:
        messages.error(request, str(exc))
    return _back(request, config)


@login_required
@permission_required(CHANGE_VM, raise_exception=True)
@require_POST
def instance_protection(request: HttpRequest, service_name: str, vm_id: int) -> HttpResponse:
    config = _config_or_404(service_name)
    vm = managed_vm_of_service(config=config, vm_id=vm_id)
    if vm is None:
        raise Http404
    protected = request.POST.get("protected") == "on"
    managed_vm_set_protection(vm=vm, protected=protected)
    logger.info("%s: %s scale-in protection %s by %s", config.service_name, vm.name,
                "set" if protected else "lifted", request.user.get_username())
    messages.success(request, (_("%(vm)s is protected from scale-in.") if protected
                               else _("%(vm)s may be picked for scale-in again.")) % {"vm": vm.name})
    return _back(request, config)
