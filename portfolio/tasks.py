"""Portfolio-wide Celery tasks: a ping that shows a worker is consuming the queue."""

from celery import shared_task
from django.utils import timezone


@shared_task
def ping():
    """Answer with the worker's clock; used to check a worker is consuming the queue."""
    return {"pong": True, "at": timezone.now().isoformat()}
