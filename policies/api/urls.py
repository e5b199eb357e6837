"""API routes of scaling policies."""

from django.urls import path

from policies.api import views

urlpatterns = [
    path("policies/<str:service_name>/", views.ScalingPolicyDetailView.as_view(), name="policy-detail"),
    path("policies/<str:service_name>/suspend", views.PolicySuspendView.as_view(), name="policy-suspend"),
    path("policies/<str:service_name>/resume", views.PolicyResumeView.as_view(), name="policy-resume"),
    path("policies/<str:service_name>/dry-run", views.PolicyDryRunView.as_view(), name="policy-dry-run"),
]
