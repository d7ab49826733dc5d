"""WSGI entry point (gunicorn membercare.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")

application = get_wsgi_application()
