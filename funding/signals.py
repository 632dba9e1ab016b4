"""Rescan a project's coverage inside the transaction that changes what its coverage depends on.

Whatever door a save comes through (pages, API, admin, the workbook import), the flags are
brought up to date before the save commits, so no reader ever sees the new money beside the
old flags. A rescan of a few projects is a fixed handful of queries (see scan.scan_lapses).
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from projects.models import CostLine, Project

from . import scan
from .models import Allocation, Disbursement, LoanTerms, Repayment, Tranche

_paused = ContextVar("rescans_paused", default=False)
_batch = ContextVar("rescan_batch", default=None)


@contextmanager
def rescans_paused():
    """For bulk loads (demo data, synthetic data) that run one full scan at the end instead."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


@contextmanager
def rescans_batched():
    """One transaction in which saves note the projects they touch; when the block ends without
    error, one scan brings them all up to date, before the transaction commits.

    For a save of many rows (the workbook import), so a file touching 18 projects costs one
    scan of 18 projects rather than a scan per row.
    """
    if _batch.get() is not None or _paused.get():
        with transaction.atomic():
            yield
        return
    touched = set()
    token = _batch.set(touched)
    try:
        with transaction.atomic():
            yield
            _batch.reset(token)
            token = None
            if touched:
                scan.scan_lapses(projects=sorted(touched))
    finally:
        if token is not None:
            _batch.reset(token)


def rescan(project_id):
    """Bring the project's flags up to date inside the current transaction (or, in a batch,
    when the batch ends)."""
    if _paused.get():
        return
    touched = _batch.get()
    if touched is not None:
        touched.add(project_id)
        return
    scan.scan_lapses(projects=[project_id])


@receiver([post_save, post_delete], sender=Tranche)
@receiver([post_save, post_delete], sender=Disbursement)
def tranche_or_disbursement_changed(sender, instance, **kwargs):
    rescan(instance.project_id if sender is Tranche else instance.tranche.project_id)


# A loan's arrears (the repayment_overdue flag) follow its terms and its repayments.
@receiver([post_save, post_delete], sender=LoanTerms)
@receiver([post_save, post_delete], sender=Repayment)
def loan_changed(sender, instance, **kwargs):
    rescan(instance.tranche.project_id)


@receiver(post_save, sender=Project)
def project_changed(sender, instance, created, **kwargs):
    if created or instance.changed_for_coverage():
        rescan(instance.pk)


@receiver([post_save, post_delete], sender=CostLine)
def cost_line_changed(sender, instance, **kwargs):
    rescan(instance.project_id)


@receiver([post_save, post_delete], sender=Allocation)
def allocation_changed(sender, instance, **kwargs):
    rescan(instance.tranche.project_id)
