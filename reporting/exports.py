"""Export jobs: who asked for which workbook, writing it (at once or on a worker), expiring it."""

import logging
import os
import tempfile
import threading
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, connections
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


def run_export(job_id) -> None:
    """Write the job's workbook. Safe to run again after a worker died half-way (the task is
    acknowledged late, so it is redelivered): it starts over, writes to a temporary file and
    renames it into place, so nobody ever downloads half a file. A finished or failed job is
    left alone."""
    claimed = ExportJob.objects.filter(
        pk=job_id, status__in=[ExportJob.Status.QUEUED, ExportJob.Status.RUNNING]
    ).update(status=ExportJob.Status.RUNNING, progress=0)
    if not claimed:
        return
    job = ExportJob.objects.get(pk=job_id)
    name = file_name(job)
    final = default_storage.path(name)
    os.makedirs(os.path.dirname(final), exist_ok=True)

    def save_progress(percent):
        # Conditional, so a stale run can never move progress backwards or touch a done job.
        ExportJob.objects.filter(
            pk=job_id, status=ExportJob.Status.RUNNING, progress__lt=percent
        ).update(progress=min(percent, 99))

    # A worker writes the workbook inside a read-only snapshot transaction (see
    # workbook.selectors.snapshot); progress then goes through a connection of its own, so it
    # is saved, and seen at once. Inside a transaction already, the export reads in it.
    report = save_progress if connection.in_atomic_block else on_own_connection(save_progress)

    handle, temporary = tempfile.mkstemp(
        dir=os.path.dirname(final), prefix=".partial-", suffix=".xlsx"
    )
    os.close(handle)
    try:
        # The workbook's headings are English, so its choice labels are too, whoever asked
        # and whether a web process or a worker writes it.
        with translation.override("en"):
            rows = write_workbook(temporary, ExportFilters.from_json(job.filters), progress=report)
        # mkstemp makes the file private; give it the mode the storage gives any stored file.
        if settings.FILE_UPLOAD_PERMISSIONS is not None:
            os.chmod(temporary, settings.FILE_UPLOAD_PERMISSIONS)
        os.replace(temporary, final)
    except Exception as error:
        logger.exception("Export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING).update(
            status=ExportJob.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        return
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    now = timezone.now()
    ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING).update(
        status=ExportJob.Status.DONE,
        progress=100,
        file=name,
        rows=rows,
        finished_at=now,
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
