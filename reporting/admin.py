"""Admin for export jobs, and the portfolio actions that export the workbook and the IATI file."""

from django.contrib import admin, messages
from django.urls import reverse

from . import exports
from .iati import ExportError, download
from .models import ExportJob
from .workbook import ExportFilters


@admin.action(description="Export workbook")
def export_workbook(modeladmin, request, queryset):
    """Admin action: one workbook per selected portfolio; a small one downloads at once."""
    portfolios = list(queryset)
    jobs = [exports.request_export(request.user, ExportFilters(portfolio=p.pk)) for p in portfolios]
    if len(jobs) == 1 and jobs[0].status == ExportJob.Status.DONE:
        return exports.download(request.user, jobs[0])
    for job, portfolio in zip(jobs, portfolios, strict=True):
        if job.status == ExportJob.Status.FAILED:
            modeladmin.message_user(
                request, f"{portfolio}: the export failed: {job.error}", messages.ERROR
            )
        else:
            modeladmin.message_user(
                request,
                f"{portfolio}: workbook {job.get_status_display().lower()}; "
                f"download it from {reverse('api-export-download', args=[job.pk])} when it is done.",
                messages.SUCCESS,
            )
    return None


@admin.action(description="Export IATI XML", permissions=["view"])
def export_iati_xml(modeladmin, request, queryset):
    """Admin action: the selected portfolio's IATI file, reported by the managers' organisation."""
    portfolios = list(queryset[:2])
    if len(portfolios) != 1:
        modeladmin.message_user(
            request, "Select one portfolio: an IATI file holds one portfolio.", messages.ERROR
        )
        return None
    try:
        return download(portfolios[0])
    except ExportError as error:
        modeladmin.message_user(request, str(error), messages.ERROR)
        return None
