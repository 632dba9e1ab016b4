"""Portfolio-wide pages: the dashboard."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone

from funding import coverage, services
from funding.models import FlagKind, LapseFlag
from projects.models import Project

CHART_HEIGHT = 160


@login_required
def home(request):
    today = timezone.localdate()
    open_flags = (
        LapseFlag.objects.open().select_related("project").order_by("project__code", "kind")
    )
    counts = dict(LapseFlag.objects.open().values_list("kind").annotate(n=Count("id")).order_by())
    months = coverage.portfolio_forecast(services.coverage_forecast(today).values())
    bars = [
        {
            "month": m.month,
            "secured": round(m.secured * CHART_HEIGHT),
            "pipeline": round(m.pipeline_only * CHART_HEIGHT),
            "uncovered": round(m.uncovered * CHART_HEIGHT),
            "label": f"{m.month:%b %Y}: {m.secured:.0%} secured, {m.pipeline_only:.0%} planned only, {m.uncovered:.0%} uncovered",
        }
        for m in months
    ]
    context = {
        "today": today,
        "status_counts": Project.objects.values("status")
        .annotate(n=Count("id"))
        .order_by("status"),
        "flag_counts": [(kind, label, counts.get(kind, 0)) for kind, label in FlagKind.choices],
        "open_flags": open_flags,
        "bars": bars,
        "chart_height": CHART_HEIGHT,
    }
    return render(request, "portfolio/home.html", context)
