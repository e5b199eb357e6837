"""Config pages: create, edit, the Enable pre-flight, disable, and the dry-run / suspend switches. Thin: the form
parses, the services decide and write (the same ones the admin and the API use), messages say what happened."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from autoscaling.models import AutoscalingConfig
from autoscaling.services.configs import config_set_enabled, validation_error_dict
from autoscaling.views import selectors
from autoscaling.views.forms import AutoscalingConfigForm
from policies import selectors as policy_selectors
from policies import services as policy_services
from policies.choices import ScalingProcess
from provisioning import services as provisioning_services
from templates_app.models import Template

ADD_CONFIG = "autoscaling.add_autoscalingconfig"
CHANGE_CONFIG = "autoscaling.change_autoscalingconfig"
CHANGE_POLICY = "policies.change_scalingpolicy"


def _config_or_404(service_name: str) -> AutoscalingConfig:
    config = selectors.service_get(service_name=service_name)
    if config is None:
        raise Http404
    return config


def _service_url(config: AutoscalingConfig) -> str:
    return reverse("autoscaling:service", args=[config.service_name])


def _save(request: HttpRequest, form: AutoscalingConfigForm, config: AutoscalingConfig | None):
    """Validate and (unless "check" was pressed) save; the saved config, or None with the errors on the form."""
    check_only = "_check" in request.POST
    if not form.is_valid():
        return None
    try:
        saved = policy_services.config_save_with_policy(
            config=config, values=form.config_values(), policy_values=form.policy_values(), commit=not check_only)
    except ValidationError as exc:
        form.add_model_errors(validation_error_dict(exc))
        return None
    if check_only:
        messages.info(request, _("Every rule passes; nothing was saved yet."))
        return None
    return saved


def _render_form(request: HttpRequest, form: AutoscalingConfigForm, config: AutoscalingConfig | None) -> HttpResponse:
    context = {
        "form": form,
        "config": config,
        "templates_exist": Template.objects.exists(),
        "checked": "_check" in request.POST and not form.errors,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "autoscaling/config_form.html", context, status=status)


@login_required
@permission_required(ADD_CONFIG, raise_exception=True)
@require_http_methods(["GET", "POST"])
def config_create(request: HttpRequest) -> HttpResponse:
    with_policy = request.user.has_perm(CHANGE_POLICY)
    form = AutoscalingConfigForm(request.POST if request.method == "POST" else None, with_policy=with_policy)
    if request.method == "POST":
        config = _save(request, form, None)
        if config is not None:
            messages.success(request, _("Config %(name)s created (disabled). Check it and enable it when the "
                                        "pre-flight passes.") % {"name": config.service_name})
            return redirect(_service_url(config))
    return _render_form(request, form, None)


@login_required
@permission_required(CHANGE_CONFIG, raise_exception=True)
@require_http_methods(["GET", "POST"])
def config_edit(request: HttpRequest, service_name: str) -> HttpResponse:
    config = _config_or_404(service_name)
    with_policy = request.user.has_perm(CHANGE_POLICY)
    policy = policy_selectors.policy_get(config=config)
    form = AutoscalingConfigForm(request.POST if request.method == "POST" else None, instance=config, policy=policy,
                                 with_policy=with_policy)
    if request.method == "POST":
        saved = _save(request, form, config)
        if saved is not None:
            messages.success(request, _("Config %(name)s saved.") % {"name": saved.service_name})
            return redirect(_service_url(saved))
        config.refresh_from_db()  # the form's values were applied to validate them; show the stored ones around it
    return _render_form(request, form, config)


@login_required
@permission_required("autoscaling.view_autoscalingconfig", raise_exception=True)
@require_http_methods(["GET", "POST"])
def config_enable(request: HttpRequest, service_name: str) -> HttpResponse:
    """GET: the pre-flight, nothing changes. POST: run it again and enable when it passes, or when the operator
    acknowledged exactly the checks that fail now."""
    config = _config_or_404(service_name)
    if request.method == "POST" and not request.user.has_perm(CHANGE_CONFIG):
        raise PermissionDenied
    outcome = None
    if request.method == "POST":
        acknowledged = request.POST.getlist("acknowledge") if request.POST.get("confirm") else []
        try:
            outcome = provisioning_services.config_enable(config=config, acknowledged=acknowledged)
        except ValidationError as exc:
            errors = validation_error_dict(exc)
            messages.error(request, _("%(name)s was not enabled: the config breaks a rule; fix it first: %(errors)s")
                           % {"name": config.service_name,
                              "errors": " ".join(m for msgs in errors.values() for m in msgs)})
            return redirect(reverse("autoscaling:config-edit", args=[config.service_name]))
        if outcome.enabled:
            if outcome.failed:
                messages.warning(request, _("%(name)s enabled despite %(n)d failed pre-flight checks (recorded in "
                                            "its change history).") % {"name": config.service_name,
                                                                       "n": len(outcome.failed)})
            else:
                messages.success(request, _("%(name)s enabled: every pre-flight check passed.")
                                 % {"name": config.service_name})
            return redirect(_service_url(config))
        results = outcome.results
    else:
        results = provisioning_services.config_preflight(config=config)
    failed = [r for r in results if r.ok is not True]
    context = {
        "config": config,
        "results": results,
        "failed": failed,
        "refused": outcome is not None,
        "can_change": request.user.has_perm(CHANGE_CONFIG),
    }
    return render(request, "autoscaling/preflight.html", context, status=409 if outcome is not None else 200)


@login_required
@permission_required(CHANGE_CONFIG, raise_exception=True)
@require_POST
def config_disable(request: HttpRequest, service_name: str) -> HttpResponse:
    config = _config_or_404(service_name)
    config_set_enabled(config=config, enabled=False)
    messages.success(request, _("%(name)s disabled: alerts and manual actions are blocked until it is enabled "
                                "again.") % {"name": config.service_name})
    return redirect(_service_url(config))


@login_required
@permission_required(CHANGE_POLICY, raise_exception=True)
@require_POST
def service_controls(request: HttpRequest, service_name: str) -> HttpResponse:
    """The dry-run switch and suspend/resume of the scaling processes (``policies.services``, as the API)."""
    config = _config_or_404(service_name)
    dry_run = request.POST.get("dry_run")
    process = request.POST.get("process", "")
    suspend = request.POST.get("suspend")
    if dry_run in ("on", "off"):
        policy = policy_services.policy_get_or_create(config=config)
        policy_services.policy_dry_run_set(policy=policy, enabled=dry_run == "on")
        messages.success(request, _("Dry run is on: decisions are recorded with their plan, nothing is executed.")
                         if dry_run == "on" else _("Dry run is off: allowed decisions run their pipelines."))
    elif process in ScalingProcess.values and suspend in ("on", "off"):
        policy = policy_services.policy_get_or_create(config=config)
        policy_services.policy_processes_set(policy=policy, processes=[process], suspended=suspend == "on")
        label = ScalingProcess(process).label
        messages.success(request, (_("%(process)s suspended.") if suspend == "on" else _("%(process)s resumed."))
                         % {"process": label})
    else:
        messages.error(request, _("Unknown switch; nothing was changed."))
    return redirect(_service_url(config))
