"""URL routes of the whole product."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy
from django.views.generic import RedirectView

from ixnode import views as ixnode_views
from ixnode.api.schema import SchemaDocsView, SchemaView

admin.site.site_header = gettext_lazy("IXNode Autoscaling administration")
admin.site.site_title = gettext_lazy("IXNode Autoscaling")
admin.site.index_title = gettext_lazy("Configs, events and integrations")

handler404 = "ixnode.views.page_not_found"
handler500 = "ixnode.views.server_error"

reset_enabled = ixnode_views.password_reset_enabled
auth_urlpatterns = [  # django.contrib.auth.urls, the reset pages guarded
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", reset_enabled(auth_views.PasswordResetView.as_view()), name="password_reset"),
    path("password_reset/done/", reset_enabled(auth_views.PasswordResetDoneView.as_view()),
         name="password_reset_done"),
    path("reset/<uidb64>/<token>/", reset_enabled(auth_views.PasswordResetConfirmView.as_view()),
         name="password_reset_confirm"),
    path("reset/done/", reset_enabled(auth_views.PasswordResetCompleteView.as_view()),
         name="password_reset_complete"),
]

urlpatterns = [
    # Browsers ask for /favicon.ico where a page names no icon (API docs, JSON): the product's icon.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("healthz", ixnode_views.healthz, name="healthz"),
    path("metrics", ixnode_views.metrics, name="metrics"),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SchemaDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("artifacts.api.urls")),
    path("api/", include("autoscaling.api.urls")),
    path("api/", include("templates_app.api.urls")),
    path("api/", include("events.api.urls")),
    path("api/", include("policies.api.urls")),
    path("api/", include("provisioning.api.views")),
    path("templates/", include("templates_app.urls")),
    # Sign-in, sign-out and password change; the password-reset pages answer 404 unless e-mail is configured
    # (IXNODE_AUTH_PASSWORD_RESET): a reset link that cannot be mailed is only a way to probe user names.
    path("accounts/", include(auth_urlpatterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("events/", include("events.views.urls")),
    path("exporters/", include("exporters.urls")),
    path("", include("autoscaling.views.urls")),
]
