from django.apps import AppConfig


class EventsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"
    verbose_name = "Scale events"
