"""Page routes of templates_app."""

from django.urls import path

from templates_app import views

app_name = "templates_app"

urlpatterns = [
    path("", views.vcenter_inventory, name="list"),  # the name the site navigation links to
    path("", views.vcenter_inventory, name="inventory"),
    path("sync/", views.templates_sync_view, name="sync"),
]
