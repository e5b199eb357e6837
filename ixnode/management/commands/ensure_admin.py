"""Ensure the operator admin account exists (make run)."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create the admin user from IXNODE_ADMIN_USER / IXNODE_ADMIN_PASSWORD if it does not exist; "
        "with no password set, generate one and print it once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("IXNODE_ADMIN_USER", "admin").strip()
        if not username:
            raise CommandError("IXNODE_ADMIN_USER is empty")
        password = os.environ.get("IXNODE_ADMIN_PASSWORD", "")
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is not None:
            if password and not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"admin user {username!r}: password updated from IXNODE_ADMIN_PASSWORD")
            else:
                self.stdout.write(f"admin user {username!r} exists")
            return
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"created admin user {username!r} with generated password: {password}\n"
                    "(shown once; set IXNODE_ADMIN_PASSWORD to choose it)"
                )
            )
        else:
            self.stdout.write(f"created admin user {username!r} (password from IXNODE_ADMIN_PASSWORD)")
