"""Queue a coverage rescan of a project when anything its coverage depends on changes."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portfolio.outbox import enqueue_on_commit
from projects.models import Project

from .models import Disbursement, Tranche

_paused = ContextVar("rescans_paused", default=False)


@contextmanager
def rescans_paused():
    """For bulk loads (demo data, imports) that run one full scan at the end instead."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def queue_rescan(project_id):
    if _paused.get():
        return
    enqueue_on_commit("funding.tasks.rescan_project_task", project_id)


def queue_rescans(project_ids):
    """One rescan of many projects (the scan reads them together): for bulk writes."""
    if project_ids:
        enqueue_on_commit("funding.tasks.rescan_projects_task", sorted(project_ids))


@receiver([post_save, post_delete], sender=Tranche)
@receiver([post_save, post_delete], sender=Disbursement)
def tranche_or_disbursement_changed(sender, instance, **kwargs):
    queue_rescan(instance.project_id if sender is Tranche else instance.tranche.project_id)


@receiver(post_save, sender=Project)
def project_changed(sender, instance, created, **kwargs):
    if created or instance.changed_for_coverage():
        queue_rescan(instance.pk)
