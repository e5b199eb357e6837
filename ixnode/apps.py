from django.apps import AppConfig


class IxnodeAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ixnode"
    verbose_name = "IXNode"
