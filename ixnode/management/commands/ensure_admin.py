"""Ensure the operator admin account exists (make run)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ixnode.management.base import OperatorCommand


class Command(OperatorCommand):
    help = gettext_noop(
        "Create the admin user from IXNODE_ADMIN_USER / IXNODE_ADMIN_PASSWORD if it does not exist; "
        "with no password set, generate one and print it once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("IXNODE_ADMIN_USER", "admin").strip()
        if not username:
            raise CommandError(_("IXNODE_ADMIN_USER is empty"))
        password = os.environ.get("IXNODE_ADMIN_PASSWORD", "")
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is not None:
            if password and not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(_("admin user %(user)s: password updated from IXNODE_ADMIN_PASSWORD")
                                  % {"user": repr(username)})
            else:
                self.stdout.write(_("admin user %(user)s exists") % {"user": repr(username)})
            return
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    _("created admin user %(user)s with generated password: %(password)s\n"
                      "(shown once; set IXNODE_ADMIN_PASSWORD to choose it)")
                    % {"user": repr(username), "password": password}
                )
            )
        else:
            self.stdout.write(_("created admin user %(user)s (password from IXNODE_ADMIN_PASSWORD)")
                              % {"user": repr(username)})
