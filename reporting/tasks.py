"""Celery tasks of the workbook export: writing a queued workbook, recovering the ones whose
worker died, expiring old files."""

from celery import shared_task

from . import exports


# A large workbook takes minutes (10,000 projects: about five), so a bigger portfolio would
# outrun the default task limit (600 s); the hard limit stays under the broker's visibility
# timeout (3600 s), so a running export is never handed to a second worker.
@shared_task(acks_late=True, soft_time_limit=3000, time_limit=3300)
def run_export_task(job_id):
    """Write a queued workbook. A redelivery after a crash, or a run queued again by
    `recover_exports_task`, starts it over (see run_export)."""
    exports.run_export(job_id)


@shared_task(acks_late=True)
def recover_exports_task():
    """Every minute (beat): queue again the exports whose worker died (no heartbeat), and
    the jobs whose message never reached the broker."""
    return {
        "recovered": exports.recover_stale_exports(),
        "requeued": exports.requeue_stranded_exports(),
    }


@shared_task(acks_late=True)
def expire_exports_task():
    """Hourly (beat): delete workbook files past their expiry, and queue again the jobs whose
    message never reached the broker."""
    return {"expired": exports.expire_exports(), "requeued": exports.requeue_stranded_exports()}
