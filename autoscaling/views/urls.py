"""Routes of the autoscaling pages (mounted at the site root)."""

from django.urls import path

from autoscaling.views import configs, instances, pages, whatif

app_name = "autoscaling"

urlpatterns = [
    path("", pages.overview, name="overview"),
    path("configs/new/", configs.config_create, name="config-create"),
    path("services/<service:service_name>/", pages.service_detail, name="service"),
    path("services/<service:service_name>/chart.json", pages.service_chart_json, name="service-chart"),
    path("services/<service:service_name>/run.json", pages.service_run_json, name="service-run"),
    path("services/<service:service_name>/instances/", pages.service_instances_panel, name="service-instances"),
    path("services/<service:service_name>/diagnostics/", pages.service_diagnostics, name="service-diagnostics"),
    path("services/<service:service_name>/edit/", configs.config_edit, name="config-edit"),
    path("services/<service:service_name>/enable/", configs.config_enable, name="config-enable"),
    path("services/<service:service_name>/disable/", configs.config_disable, name="config-disable"),
    path("services/<service:service_name>/controls/", configs.service_controls, name="service-controls"),
    path("services/<service:service_name>/scale/", instances.service_scale, name="service-scale"),
    path("services/<service:service_name>/whatif/", whatif.whatif_start, name="whatif-start"),
    path("services/<service:service_name>/whatif/<int:run_id>/", whatif.whatif_detail, name="whatif"),
    path("services/<service:service_name>/whatif/<int:run_id>.json", whatif.whatif_progress_json,
         name="whatif-progress"),
    path("services/<service:service_name>/whatif/<int:run_id>/plot.png", whatif.whatif_plot, name="whatif-plot"),
    path("services/<service:service_name>/whatif/<int:run_id>/switch/", whatif.whatif_switch, name="whatif-switch"),
    path("services/<service:service_name>/instances/<int:vm_id>/protection/", instances.instance_protection,
         name="instance-protection"),
]
