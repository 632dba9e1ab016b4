"""Portfolio-wide pages: the dashboard, exchange rates and the Excel export."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from funding.models import FlagKind

from . import access, dashboard, exports
from .decorators import reader_required
from .forms import ExchangeRateForm, ExportForm, form_status, posted
from .models import ExchangeRate, ExportJob, Portfolio

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
    today = timezone.localdate()
    context = {"today": today, "portfolios": portfolios, "portfolio": portfolio}
    if portfolio is not None:
        judged = dashboard.assessments(portfolio, today)
        indicator_counts, indicator_total = dashboard.indicator_counts(portfolio, today)
        flags = dashboard.open_flags(request.user, {"project__portfolio": portfolio})
        counts = dict.fromkeys(FlagKind.values, 0)
        for flag in flags:
            counts[flag.kind] += 1
        context.update(
            {
                "money": dashboard.money(portfolio, today),
                "open_flags": flags,
                "flag_counts": [(kind, label, counts[kind]) for kind, label in FlagKind.choices],
                "bars": dashboard.forecast_bars(judged, today, CHART_HEIGHT),
                "chart_height": CHART_HEIGHT,
                "timeline": dashboard.coverage_timeline(judged, today),
                "indicator_counts": indicator_counts,
                "indicator_total": indicator_total,
                "activity": dashboard.recent_activity(portfolio),
                "status_counts": dashboard.status_counts(portfolio),
            }
        )
    return render(request, "portfolio/home.html", context)


@reader_required
def rates(request):
    """Exchange rates: everyone with a role reads them; finance staff and managers add them."""
    may_add = access.may(request.user, access.ADD, ExchangeRate)
    form = ExchangeRateForm(posted(request), initial={"to_currency": _reporting_currency()})
    if request.method == "POST":
        access.check(request.user, access.ADD, ExchangeRate)
        if form.is_valid():
            try:
                access.save_as(request.user, form.instance)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Exchange rate saved."))
                return redirect("rates")
    page = Paginator(ExchangeRate.objects.all(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portfolio/rates.html",
        {"form": form, "may_add": may_add, "page": page},
        status=form_status(form),
    )


def _reporting_currency():
    portfolio = Portfolio.objects.first()
    return portfolio.reporting_currency if portfolio else "USD"


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
        "portfolio/export.html",
        {"form": form, "jobs": jobs},
        status=form_status(form),
    )


def _job(request, pk):
    """The job, to the user who asked for it (or a manager); anyone else finds nothing."""
    job = get_object_or_404(ExportJob, pk=pk)
    if not exports.may_download(request.user, job):
        raise Http404("No such export.")
    return job


@reader_required
def export_status(request, pk):
    return render(request, "portfolio/export_status.html", {"job": _job(request, pk)})


@reader_required
def export_progress(request, pk):
    """What the progress bar polls."""
    job = _job(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": gettext(job.get_status_display()),
            "progress": job.progress,
            "ready": job.is_ready,
            "download_url": reverse("export-download", args=[job.pk]) if job.is_ready else None,
            "error": job.error,
        }
    )


@reader_required
def export_download(request, pk):
    job = _job(request, pk)
    if not job.is_ready:
        raise Http404("This export is not ready, or its file has expired.")
    return exports.download_response(job)
