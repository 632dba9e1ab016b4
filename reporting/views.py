"""Reporting pages: the dashboard and the Excel export."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portfolio import access
from portfolio.decorators import reader_required
from portfolio.forms import form_status, posted
from portfolio.models import Portfolio

from . import dashboard, exports
from .forms import AsOfForm, ExportForm
from .models import ExportJob

CHART_HEIGHT = 160


@login_required
def home(request):
    if not access.can_read(request.user):
        # The landing page explains instead of answering 404: the user did sign in.
        return render(request, "portfolio/no_role.html")
    portfolios = list(Portfolio.objects.all())
    portfolio = next(
        (p for p in portfolios if str(p.pk) == request.GET.get("portfolio")),
        portfolios[0] if portfolios else None,
    )
    # ?as_of=YYYY-MM-DD shows the portfolio as it stood at the end of that day.
    as_of_form = AsOfForm(request.GET)
    today = as_of_form.day()
    context = {
        "today": today,
        "is_today": today == timezone.localdate(),
        "as_of_form": as_of_form,
        "portfolios": portfolios,
        "portfolio": portfolio,
    }
    if portfolio is not None:
        judged = dashboard.assessments(portfolio, today)
        indicator_counts, indicator_total = dashboard.indicator_counts(portfolio, today)
        flags = dashboard.open_flags(request.user, {"project__portfolio": portfolio}, today)
        context.update(
            {
                "money": dashboard.money(portfolio, today),
                "open_flags": flags,
                "flag_counts": dashboard.flag_counts(flags),
                "bars": dashboard.forecast_bars(judged, today, CHART_HEIGHT),
                "chart_height": CHART_HEIGHT,
                "timeline": dashboard.coverage_timeline(judged, today),
                "indicator_counts": indicator_counts,
                "indicator_total": indicator_total,
                "activity": dashboard.recent_activity(portfolio),
                "status_counts": dashboard.status_counts(portfolio),
                "overdue_recommendations": dashboard.overdue_recommendations(
                    request.user, portfolio, today
                ),
                "cost_lines": dashboard.cost_lines(portfolio, today),
            }
        )
    return render(request, "reporting/home.html", context)


@reader_required
def export(request):
    """Ask for the Excel workbook; a large one is written by a worker while a bar shows progress."""
    access.check(request.user, access.VIEW, ExportJob)
    form = ExportForm(posted(request))
    if request.method == "POST" and form.is_valid():
        job = exports.request_export(request.user, form.filters())
        return redirect("export-status", pk=job.pk)
    jobs = ExportJob.objects.filter(requested_by=request.user).order_by("-created_at")[:10]
    return render(
        request,
        "reporting/export.html",
        {"form": form, "jobs": jobs},
        status=form_status(form),
    )


@reader_required
def export_status(request, pk):
    job = exports.job_for(request.user, pk)
    return render(request, "reporting/export_status.html", {"job": job})


@reader_required
def export_progress(request, pk):
    """What the progress bar polls."""
    job = exports.job_for(request.user, pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "progress": job.progress,
            "ready": job.is_ready,
            "download_url": reverse("export-download", args=[job.pk]) if job.is_ready else None,
            "error": job.error,
        }
    )


@reader_required
def export_download(request, pk):
    """The workbook; not yet written (409) or expired (410), the status page says so."""
    job = exports.job_for(request.user, pk)
    try:
        return exports.download(request.user, job)
    except exports.ExportUnavailable as why:
        context = {"job": job, "unavailable": str(why)}
        return render(request, "reporting/export_status.html", context, status=why.status)
