"""The one way the service queues work after a commit (rescans, digests, exports).

Work is named by its task name, so a service never imports the task module that calls it
back; Celery's registry resolves the name when the transaction commits.
"""

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, *args, **kwargs):
    """Queue the task called `task_name` once the current transaction commits.

    A broker outage must not undo or fail the user's save: the publish is retried briefly
    (CELERY_TASK_PUBLISH_RETRY_POLICY), then logged, and the periodic jobs catch up.
    """

    def publish():
        try:
            task = _task(task_name)
            # Nobody waits for these results. Asking for one would subscribe to it on the result
            # backend, whose own retries (about 20 s) hold the request when Redis is down.
            task.apply_async(args=args, kwargs=kwargs, ignore_result=True)
        except Exception as error:  # any broker or network error; the save has already committed
            logger.warning("Could not queue %s: %s", task_name, error)

    transaction.on_commit(publish)


def _task(task_name):
    """The registered task called `task_name`. Only a worker imports the apps' task modules
    when it starts; a web process (where saves now rescan and queue digests) imports them on
    the first lookup that misses."""
    if task_name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]
