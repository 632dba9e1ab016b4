"""Portfolio-wide Celery tasks: a ping that shows a worker is consuming the queue, and the
outbox drain that publishes work a broker outage held back."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import connections
from django.utils import timezone

from . import outbox

logger = logging.getLogger(__name__)


@shared_task
def ping():
    """Answer with the worker's clock; used to check a worker is consuming the queue."""
    return {"pong": True, "at": timezone.now().isoformat()}


@shared_task(ignore_result=True)
def drain_outbox_task():
    """Every few seconds (beat): publish the outbox messages whose own publish failed."""
    return outbox.drain()


@worker_ready.connect
def drain_outbox_at_start(**kwargs):
    """A worker that starts (say, after the broker came back) makes up what was held back
    at once, without waiting for beat."""
    try:
        outbox.drain(older_than=outbox.DRAIN_AFTER)
    except Exception:  # the worker must start even when the database is not there yet
        logger.exception("Could not drain the outbox at start-up")
    finally:
        # Forked pool processes must not share this connection; never closed mid-transaction.
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()
