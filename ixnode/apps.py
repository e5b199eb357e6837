import logging

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from simple_history.signals import pre_create_historical_record

from ixnode import checks
from ixnode.db_files import sqlite_files_protect

logger = logging.getLogger("ixnode")


class IxnodeAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ixnode"
    verbose_name = "IXNode"

    def ready(self) -> None:
        from ixnode.history import history_actor_fill  # noqa: PLC0415 - needs the models loaded

        pre_create_historical_record.connect(history_actor_fill, dispatch_uid="ixnode-history-actor")
        # Also in the web server's and the worker's logs, where no system check runs.
        legacy = checks.legacy_names_message()
        if legacy:
            logger.warning("%s", legacy)
        unknown = checks.unknown_names_message()
        if unknown:
            logger.warning("%s", unknown)
        connection_created.connect(sqlite_files_protect, dispatch_uid="ixnode-sqlite-files-protect")
