"""Settings for the test suite: the product's settings with test-only environment defaults."""

import os

# The suite never reads a developer's .env (ixnode/env.py: env_file_load); tests of that loader set it themselves.
os.environ["IXNODE_ENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("IXNODE_WEBHOOK_TOKEN", "test-webhook-token")
os.environ.setdefault("IXNODE_Q_SYNC", "0")

from ixnode.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# SQLite: a file test database (not pytest-django's shared-cache in-memory one), so threads and the live
# server see real SQLite locking (WAL, busy timeout, BEGIN IMMEDIATE) exactly as in production.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile as _tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(_tempfile.gettempdir(), f"ixnode-test-{os.getpid()}.sqlite3")
    }
