"""Export jobs: who asked for which workbook, writing it (at once or on a worker), expiring it."""

import glob
import logging
import os
import threading
from contextlib import suppress
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import F, Q
from django.http import FileResponse
from django.utils import timezone

from portfolio import access
from portfolio.outbox import enqueue_on_commit
from portfolio.xlsx import XLSX

from .models import ExportJob
from .workbook import ExportFilters, write_workbook

logger = logging.getLogger(__name__)

RUN_EXPORT = "reporting.tasks.run_export_task"


def request_export(user, filters: ExportFilters) -> ExportJob:
    """Record a request for the workbook; write it now when small, else queue it.

    Anyone who may read the portfolio may export it. The as-of date is fixed now, so a job
    that runs after midnight still exports the day it was asked for.
    """
    access.check(user, access.VIEW, ExportJob)
    if filters.as_of is None:
        filters = replace(filters, as_of=timezone.localdate())
    job = ExportJob.objects.create(requested_by=user, filters=filters.to_json())
    if filters.projects().count() <= settings.EXPORT_SYNC_MAX_PROJECTS:
        run_export(job.pk)
        job.refresh_from_db()
    else:
        enqueue_on_commit(RUN_EXPORT, str(job.pk))
    return job


def file_name(job) -> str:
    return f"exports/{job.pk}.xlsx"


def download_name(job) -> str:
    as_of = job.filters.get("as_of") or f"{job.created_at:%Y-%m-%d}"
    return f"portfolio-summary-{as_of}.xlsx"


def partial_name(job_id, attempt) -> str:
    return f"exports/.partial-{job_id}-{attempt}.xlsx"


def _remove_partials(job_id, before=None):
    """Delete the half-written files of the job's runs (those before attempt `before`)."""
    folder = default_storage.path("exports")
    for path in glob.glob(os.path.join(folder, f".partial-{job_id}-*.xlsx")):
        attempt = path.rsplit("-", 1)[1].removesuffix(".xlsx")
        if before is None or (attempt.isdigit() and int(attempt) < before):
            with suppress(FileNotFoundError):
                os.remove(path)


def _stale(now):
    """A running job whose heartbeat stopped this long ago has lost its worker."""
    cutoff = now - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    return Q(status=ExportJob.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )


class Heartbeat(threading.Thread):
    """Writes the run's heartbeat every few seconds for as long as the run lives, whatever
    its progress: a long step (one chunk of projects, saving the file) never makes a live
    run look dead, and a killed one falls silent at once."""

    def __init__(self, job):
        super().__init__(name=f"export-heartbeat-{job}", daemon=True)
        self.job = job  # the run's own queryset: only while it is the latest attempt
        self.every = max(settings.EXPORT_STALE_SECONDS / 6, 0.5)
        self.stopped = threading.Event()

    def run(self):
        try:
            while not self.stopped.wait(self.every):
                self.job.update(heartbeat_at=timezone.now())
        except Exception:  # a heartbeat lost is no reason to fail the export
            logger.exception("Export heartbeat failed")
        finally:
            connection.close()  # this thread's own connection

    def stop(self):
        self.stopped.set()
        self.join(timeout=10)


def run_export(job_id) -> None:
    """Write the job's workbook, if no live run has it: a queued job, or a running one whose
    heartbeat stopped (its worker died and the task came back). Each run takes the job with
    a new attempt number and writes only while it is the latest, to a partial file of its
    own that is renamed into place, so nobody ever downloads half a file. The progress it
    reports, and a heartbeat thread every few seconds, tell that it lives. A finished or
    failed job is left alone."""
    now = timezone.now()
    claimed = (
        ExportJob.objects.filter(pk=job_id)
        .filter(Q(status=ExportJob.Status.QUEUED) | _stale(now))
        .update(
            status=ExportJob.Status.RUNNING, progress=0, attempt=F("attempt") + 1, heartbeat_at=now
        )
    )
    if not claimed:
        return
    job = ExportJob.objects.get(pk=job_id)
    mine = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING, attempt=job.attempt)
    name = file_name(job)
    final = default_storage.path(name)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    _remove_partials(job_id, before=job.attempt)
    partial = default_storage.path(partial_name(job_id, job.attempt))

    def report(percent):
        # Conditional, so a run that lost the job never moves its progress or touches it.
        mine.update(progress=min(percent, 99), heartbeat_at=timezone.now())

    heartbeat = Heartbeat(mine)
    heartbeat.start()
    try:
        rows = write_workbook(partial, ExportFilters.from_json(job.filters), progress=report)
        # Give the file the mode the storage gives any stored file.
        if settings.FILE_UPLOAD_PERMISSIONS is not None:
            os.chmod(partial, settings.FILE_UPLOAD_PERMISSIONS)
        if not mine.exists():
            return  # taken over meanwhile: the latest run writes the file
        os.replace(partial, final)
    except Exception as error:
        logger.exception("Export %s failed", job_id)
        mine.update(
            status=ExportJob.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        return
    finally:
        heartbeat.stop()
        with suppress(FileNotFoundError):
            os.remove(partial)
    now = timezone.now()
    mine.update(
        status=ExportJob.Status.DONE,
        progress=100,
        file=name,
        rows=rows,
        finished_at=now,
        heartbeat_at=now,
        expires_at=now + timedelta(hours=settings.EXPORT_FILE_HOURS),
    )


def recover_stale_exports(now=None) -> int:
    """Queue again the running jobs whose worker died (no heartbeat for
    EXPORT_STALE_SECONDS), deleting what they had half written; a minute's beat runs this,
    so a killed export starts again within minutes, not after the broker's hour."""
    now = now or timezone.now()
    found = 0
    for pk, attempt in ExportJob.objects.filter(_stale(now)).values_list("pk", "attempt"):
        taken = ExportJob.objects.filter(pk=pk, attempt=attempt).filter(_stale(now))
        if not taken.update(status=ExportJob.Status.QUEUED, progress=0):
            continue  # finished or taken over meanwhile
        logger.warning("Export %s lost its worker; queued again", pk)
        _remove_partials(pk)
        enqueue_on_commit(RUN_EXPORT, str(pk))
        found += 1
    return found


def expire_exports(now=None) -> int:
    """Delete the files of exports past their expiry; the jobs stay, without a file."""
    now = now or timezone.now()
    expired = ExportJob.objects.filter(expires_at__lte=now).exclude(file="")
    found = list(expired.values_list("pk", "file"))
    ExportJob.objects.filter(pk__in=[pk for pk, _ in found]).update(file="")
    for _, name in found:
        default_storage.delete(name)
    return len(found)


# A queued job no worker has claimed after this long was most likely never published (the
# broker was down at commit); queueing it again is safe because run_export claims the job.
STRANDED_AFTER = timedelta(minutes=15)


def requeue_stranded_exports(now=None) -> int:
    """Queue again the jobs still waiting long after they were asked for."""
    now = now or timezone.now()
    stranded = ExportJob.objects.filter(
        status=ExportJob.Status.QUEUED, created_at__lte=now - STRANDED_AFTER
    ).values_list("pk", flat=True)
    found = [str(pk) for pk in stranded]
    for pk in found:
        enqueue_on_commit(RUN_EXPORT, pk)
    return len(found)


def may_download(user, job) -> bool:
    return job.requested_by_id == user.pk or access.roles(user).manager


def download_response(job) -> FileResponse:
    return FileResponse(
        default_storage.open(job.file.name, "rb"),
        as_attachment=True,
        filename=download_name(job),
        content_type=XLSX,
    )
