"""The one way the service queues work after a commit (rescans, digests, exports): an outbox.

`enqueue_on_commit` writes the work as a row in the caller's own transaction, so it exists
exactly when the change that asked for it exists. Once the transaction commits the row is
published to the broker and marked sent. If the broker is down, the row waits: `drain()`,
run by beat every few seconds and by each worker as it starts, publishes what is left, so a
rescan or a digest lost to an outage is made up within a minute of the broker's return.
Every task is idempotent, so the rare message published twice does no harm.

Work is named by its task name, so a service never imports the task module that calls it
back; Celery's registry resolves the name when the message is published.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# A row younger than this is left to its own commit's publish, which is normally under way.
DRAIN_AFTER = timedelta(seconds=5)
# A row that failed this many publishes (say, a task that no longer exists) is left alone
# and counted by /healthz.
MAX_ATTEMPTS = 50
KEEP_SENT = timedelta(days=7)
DRAIN_BATCH = 500


def enqueue_on_commit(task_name: str, *args, **kwargs) -> OutboxMessage:
    """Queue the task called `task_name` once the current transaction commits.

    A broker outage must not undo or fail the user's save: the publish is retried briefly
    (CELERY_TASK_PUBLISH_RETRY_POLICY), then logged, and the row waits for `drain()`.
    """
    message = OutboxMessage.objects.create(task_name=task_name, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: _publish_logged(message))
    return message


def _publish_logged(message) -> bool:
    try:
        publish(message)
    except Exception as error:  # any broker or network error; the change has committed
        logger.warning("Could not queue %s: %s", message.task_name, error)
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=F("attempts") + 1, last_error=str(error)[:2000]
        )
        return False
    return True


def publish(message):
    """Send one message to the broker and mark it sent."""
    task = _task(message.task_name)
    # Nobody waits for these results. Asking for one would subscribe to it on the result
    # backend, whose own retries (about 20 s) hold the request when Redis is down.
    task.apply_async(args=tuple(message.args), kwargs=message.kwargs, ignore_result=True)
    OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(
        sent_at=timezone.now(), attempts=F("attempts") + 1
    )


def _task(name):
    tasks = current_app.tasks
    if name not in tasks:
        # A web process has imported no task module; find them as a worker does at start.
        current_app.loader.import_default_modules()
    return tasks[name]


def drain(older_than=DRAIN_AFTER, now=None) -> int:
    """Publish the messages whose own publish failed (or never ran); return how many.

    Rows are locked while they are published (others' drains skip them), and a broker
    that fails stops the round: the next one tries again.
    """
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(
                    sent_at__isnull=True,
                    attempts__lt=MAX_ATTEMPTS,
                    created_at__lte=now - older_than,
                )
                .order_by("created_at", "id")[:DRAIN_BATCH]
            )
            for message in batch:
                if not _publish_logged(message):
                    return sent
                sent += 1
        if len(batch) < DRAIN_BATCH:
            break
    OutboxMessage.objects.filter(sent_at__lte=now - KEEP_SENT).delete()
    if sent:
        logger.info("Outbox: published %d message(s) that had waited", sent)
    return sent


def waiting(older_than=timedelta(minutes=1), now=None) -> int:
    """How many messages have waited longer than a drain should ever take."""
    now = now or timezone.now()
    return OutboxMessage.objects.filter(
        sent_at__isnull=True, created_at__lte=now - older_than
    ).count()
