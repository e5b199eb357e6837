"""API routes of templates_app."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from templates_app.api.views import TemplateViewSet, VCenterVMListView

router = SimpleRouter()
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = [
    path("vcenter/vms/", VCenterVMListView.as_view(), name="vcenter-vms"),
    *router.urls,
]
