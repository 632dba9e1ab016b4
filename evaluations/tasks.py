"""Celery tasks of the results framework: the email of one measurement change."""

import smtplib

from celery import shared_task

from .services import digests


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_measurement_notice(notice_id):
    """Send one change's email, once: a second delivery of the message sends nothing."""
    digests.send_notice(notice_id)
