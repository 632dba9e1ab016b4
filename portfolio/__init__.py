"""Django project package and portfolio-wide features (roles, exchange rates, exports)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
