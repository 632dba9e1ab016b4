"""The Django project package: settings, URL routes, the Celery app, WSGI/ASGI and health."""

from .celery import app as celery_app

__all__ = ["celery_app"]
