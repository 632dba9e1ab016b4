"""WSGI entry point (gunicorn portfolio.wsgi)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
application = get_wsgi_application()
settings.SECRET_KEY  # noqa: B018 - refuse to serve without a key (ImproperlyConfigured)
