"""The outbox: queued work is a row of the change's own transaction, published after commit,
and made up later when the broker was down."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from portfolio import outbox
from portfolio.models import OutboxMessage
from portfolio.tasks import drain_outbox_at_start, ping


class Recorder:
    """Stands in for a task: records what would have reached the broker."""

    def __init__(self, name, sent):
        self.name, self.sent = name, sent

    def apply_async(self, args=None, kwargs=None, **options):
        self.sent.append((self.name, list(args or []), dict(kwargs or {})))


@pytest.fixture
def published(monkeypatch):
    sent = []
    known = {"portfolio.tasks.ping", "funding.tasks.rescan_project_task"}

    def task(name):
        if name not in known:
            raise KeyError(name)
        return Recorder(name, sent)

    monkeypatch.setattr(outbox, "_task", task)
    return sent


@pytest.mark.django_db(transaction=True)
def test_work_is_written_with_the_change_and_published_when_it_commits(published):
    with transaction.atomic():
        message = outbox.enqueue_on_commit("funding.tasks.rescan_project_task", 7, as_of="x")
        assert OutboxMessage.objects.get().sent_at is None
        assert published == []  # nothing leaves before the commit

    assert published == [("funding.tasks.rescan_project_task", [7], {"as_of": "x"})]
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_work_of_a_change_rolled_back_is_never_published(published):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue_on_commit("portfolio.tasks.ping")
        raise RuntimeError("the save failed")

    assert published == []
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_work_queued_while_the_broker_is_down_waits_and_is_drained_when_it_returns(
    broker_down, published_after_outage
):
    with transaction.atomic():
        outbox.enqueue_on_commit(ping.name)
    waiting = OutboxMessage.objects.get()
    assert waiting.sent_at is None
    assert waiting.attempts == 1
    assert waiting.last_error

    published_after_outage()  # the broker is back
    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        assert outbox.drain() == 1

    waiting.refresh_from_db()
    assert waiting.sent_at is not None
    assert outbox.drain() == 0  # sent once


@pytest.fixture
def published_after_outage(monkeypatch):
    """The broker comes back: publishing works again (recorded here, whatever the broker)."""
    sent = []

    def restore():
        monkeypatch.setattr(ping, "apply_async", lambda *args, **kwargs: sent.append(args))

    return restore


@pytest.mark.django_db
def test_drain_leaves_fresh_rows_to_their_own_commit(published):
    OutboxMessage.objects.create(task_name="portfolio.tasks.ping")

    assert outbox.drain() == 0
    assert outbox.drain(older_than=timedelta(0)) == 1
    assert published == [("portfolio.tasks.ping", [], {})]


@pytest.mark.django_db
def test_a_worker_drains_at_start_up(published):
    old = timezone.now() - timedelta(minutes=5)
    OutboxMessage.objects.create(task_name="portfolio.tasks.ping", args=[1], created_at=old)
    OutboxMessage.objects.create(task_name="portfolio.tasks.ping", args=[2], created_at=old)

    drain_outbox_at_start(sender=None)

    assert [args for _, args, _ in published] == [[1], [2]]
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db
def test_an_unknown_task_is_given_up_after_many_attempts_and_counted(published):
    old = timezone.now() - timedelta(minutes=5)
    OutboxMessage.objects.create(task_name="nowhere.tasks.gone", created_at=old)
    OutboxMessage.objects.create(task_name="portfolio.tasks.ping", created_at=old)

    for _ in range(outbox.MAX_ATTEMPTS + 1):
        outbox.drain()

    gone = OutboxMessage.objects.get(task_name="nowhere.tasks.gone")
    assert (gone.sent_at, gone.attempts) == (None, outbox.MAX_ATTEMPTS)
    assert outbox.waiting() == 1
    assert published == [("portfolio.tasks.ping", [], {})]


@pytest.mark.django_db
def test_sent_rows_are_kept_a_week(published):
    now = timezone.now()
    OutboxMessage.objects.create(
        task_name="portfolio.tasks.ping",
        created_at=now - timedelta(days=8),
        sent_at=now - timedelta(days=8),
    )
    recent = OutboxMessage.objects.create(
        task_name="portfolio.tasks.ping",
        created_at=now - timedelta(days=1),
        sent_at=now - timedelta(days=1),
    )

    outbox.drain()

    assert list(OutboxMessage.objects.all()) == [recent]
