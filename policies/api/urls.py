"""API routes of scaling policies."""

from django.urls import path

from policies.api import views

urlpatterns = [
    path("policies/<service:service_name>/", views.ScalingPolicyDetailView.as_view(), name="policy-detail"),
    path("policies/<service:service_name>/suspend", views.PolicySuspendView.as_view(), name="policy-suspend"),
    path("policies/<service:service_name>/resume", views.PolicyResumeView.as_view(), name="policy-resume"),
    path("policies/<service:service_name>/dry-run", views.PolicyDryRunView.as_view(), name="policy-dry-run"),
    path("policies/<service:service_name>/whatif-runs/", views.WhatIfRunListView.as_view(),
         name="policy-whatif-runs"),
    path("policies/<service:service_name>/whatif-runs/<int:run_id>/", views.WhatIfRunDetailView.as_view(),
         name="policy-whatif-run-detail"),
    path("policies/<service:service_name>/whatif-runs/<int:run_id>/plot", views.WhatIfRunPlotView.as_view(),
         name="policy-whatif-run-plot"),
]
