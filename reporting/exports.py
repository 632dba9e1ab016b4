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
from django.db import connection, connections
from django.db.models import F, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

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
    """What the file is called when downloaded, saying what it holds, e.g.
    portfolio-summary-digital-services-fund-all-funders-as-of-2026-03-01.xlsx."""
    filters = ExportFilters.from_json(job.filters)
    return filters.file_name(filters.as_of or job.created_at.date())


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

    def save_progress(percent):
        # Conditional, so a run that lost the job never moves its progress or touches it.
        mine.update(progress=min(percent, 99), heartbeat_at=timezone.now())

    # A worker writes the workbook inside a read-only snapshot transaction (see
    # workbook.selectors.snapshot); progress then goes through a connection of its own, so it
    # is saved, and seen at once. Inside a transaction already, the export reads in it.
    report = save_progress if connection.in_atomic_block else on_own_connection(save_progress)

    heartbeat = Heartbeat(mine)
    heartbeat.start()
    try:
        # The workbook's headings are English, so its choice labels are too, whoever asked
        # and whether a web process or a worker writes it.
        with translation.override("en"):
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


def on_own_connection(function):
    """`function`, run in a short-lived thread: Django gives each thread its own database
    connection, outside the transaction of the caller's."""

    def run(*args):
        def target():
            try:
                function(*args)
            except Exception:  # progress is a courtesy: it never fails the export
                logger.exception("Saving export progress failed")
            finally:
                connections.close_all()  # this thread's connections only

        thread = threading.Thread(target=target, name="export-progress")
        thread.start()
        thread.join()

    return run


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
    for _pk, name in found:
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


class ExportUnavailable(Exception):
    """Why an export's workbook cannot be downloaded now; `status` is what every door answers."""

    status = 409


class ExportNotReady(ExportUnavailable):
    status = 409

    def __init__(self, job):
        super().__init__(
            _("The export is %(status)s; wait until it is done.")
            % {"status": str(job.get_status_display()).lower()}
        )


class ExportExpired(ExportUnavailable):
    status = 410

    def __init__(self):
        super().__init__(_("This export has expired; ask for a new one."))


def job_for(user, pk) -> ExportJob:
    """The export job `pk`, if `user` may see it (`access.DOWNLOAD`): to anyone else it does
    not exist (404), so nobody learns what others export."""
    job = get_object_or_404(ExportJob, pk=pk)
    if not access.may(user, access.DOWNLOAD, job):
        raise Http404(_("No such export."))
    return job


def download(user, job) -> FileResponse:
    """The job's workbook as a file to download; the API and the pages both answer with it.

    Not theirs: 404 (Http404). Expired, or its file gone: 410 (ExportExpired). Queued,
    running or failed: 409 (ExportNotReady).
    """
    if not access.may(user, access.DOWNLOAD, job):
        raise Http404(_("No such export."))
    if job.is_expired() or (job.status == ExportJob.Status.DONE and not job.file):
        raise ExportExpired()
    if job.status != ExportJob.Status.DONE:
        raise ExportNotReady(job)
    return FileResponse(
        default_storage.open(job.file.name, "rb"),
        as_attachment=True,
        filename=download_name(job),
        content_type=XLSX,
    )
