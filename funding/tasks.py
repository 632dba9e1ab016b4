"""Celery tasks for lapse scans and their email digests; each is safe to run twice."""

import logging
import smtplib
from datetime import date

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError
from django.template.loader import render_to_string

from . import scan

logger = logging.getLogger(__name__)

# A locked SQLite file, a PostgreSQL failover or a dropped connection passes; the scan is
# idempotent, so it is simply run again, later and later, rather than lost until tomorrow.
DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(**DATABASE_RETRY)
def scan_lapses_task(as_of=None):
    """The daily scan (beat), which also sends the reminders. Rerunning it on the same day
    changes nothing."""
    result = scan.scan_lapses(date.fromisoformat(as_of) if as_of else None)
    logger.info("Lapse scan %s", result.as_dict())
    return result.as_dict()


@shared_task(**DATABASE_RETRY)
def rescan_project_task(project_id):
    """Rescan one project. Saves now rescan inside their own transaction (funding.signals);
    this stays for messages queued before that, and for rescanning a project by hand."""
    return scan.scan_lapses(projects=[project_id]).as_dict()


@shared_task
def rescan_projects_task(project_ids):
    """Rescan the projects a bulk write (an import) touched, in one set-based scan."""
    return scan.scan_lapses(projects=project_ids).as_dict()


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_lapse_digest(email, as_of, lines):
    """One email per recipient per scan, listing each project, its gap and a link."""
    context = {"as_of": as_of, "lines": lines, "site_url": settings.SITE_URL.rstrip("/")}
    subject = render_to_string("funding/email/lapse_digest_subject.txt", context).strip()
    body = render_to_string("funding/email/lapse_digest.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_money_alarm(emails, as_of, tranches):
    """Tell the portfolio managers that stored disbursed totals disagree with their rows."""
    context = {"as_of": as_of, "tranches": tranches, "site_url": settings.SITE_URL.rstrip("/")}
    subject = render_to_string("funding/email/money_alarm_subject.txt", context).strip()
    body = render_to_string("funding/email/money_alarm.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails)
