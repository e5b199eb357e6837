"""WSGI entry point (gunicorn ixnode.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ixnode.settings")
application = get_wsgi_application()
