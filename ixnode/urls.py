"""URL routes of the whole product."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ixnode import views as ixnode_views

admin.site.site_header = gettext_lazy("IXNode Autoscaling administration")
admin.site.site_title = gettext_lazy("IXNode Autoscaling")
admin.site.index_title = gettext_lazy("Configs, events and integrations")

urlpatterns = [
    # Browsers ask for /favicon.ico where a page names no icon (API docs, JSON): the product's icon.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("healthz", ixnode_views.healthz, name="healthz"),
    path("metrics", ixnode_views.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("artifacts.api.urls")),
    path("api/", include("autoscaling.api.urls")),
    path("api/", include("templates_app.api.urls")),
    path("api/", include("events.api.urls")),
    path("api/", include("policies.api.urls")),
    path("api/", include("provisioning.api.views")),
    path("templates/", include("templates_app.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("events/", include("events.views.urls")),
    path("exporters/", include("exporters.urls")),
    path("", include("autoscaling.views.urls")),
]
