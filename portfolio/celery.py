"""Celery application, and the one way the service queues work after a commit."""

import logging
import os

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")

app = Celery("portfolio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args, **kwargs):
    """Queue `task` once the current transaction commits.

    A broker outage must not undo or fail the user's save: the publish is retried briefly
    (CELERY_TASK_PUBLISH_RETRY_POLICY), then logged, and the nightly job catches up.
    """

    def publish():
        try:
            # Nobody waits for these results. Asking for one would subscribe to it on the result
            # backend, whose own retries (about 20 s) hold the request when Redis is down.
            task.apply_async(args=args, kwargs=kwargs, ignore_result=True)
        except Exception as error:  # any broker or network error; the save has already committed
            logger.warning("Could not queue %s: %s", task.name, error)

    transaction.on_commit(publish)
