"""Project pages: the filtered list, and one project with its money, coverage, results and history."""

import csv
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from evaluations.models import (
    Evaluation,
    FollowUp,
    Indicator,
    Measurement,
    category_label,
    category_names,
)
from funding import selectors, timeline
from funding.models import Disbursement, Instrument
from portfolio import access
from portfolio.decorators import reader_required
from reporting import dashboard
from reporting.history import project_history
from reporting.iati import codelist_names

from .forms import ProjectFilterForm
from .models import CostLine, Project

# The project list's columns people sort by: the name in the address, and the database's
# order for it (the money columns are sorted once converted, in Python).
SORTS = {
    "code": ("code",),
    "country": ("country", "code"),
    "partner": ("implementing_partner__name", "code"),
    "status": ("status", "code"),
    "launch": ("launch_date", "planned_launch_date", "code"),
    "flags": ("open_flags", "code"),
    "committed": None,
    "disbursed": None,
}


@reader_required
def project_list(request):
    """Projects, filtered, sorted by any column (?sort=, "-" first for descending), with the
    money each has signed and paid; ?format=csv downloads every row of the same list."""
    form = ProjectFilterForm(request.GET or None)
    projects = form.filter(
        access.visible(request.user, Project.objects.all())
        .select_related("portfolio", "implementing_partner")
        .annotate(
            open_flags=Count(
                "lapse_flags", filter=Q(lapse_flags__resolved_at__isnull=True), distinct=True
            )
        )
    )
    sort = request.GET.get("sort", "code")
    key = sort.removeprefix("-")
    if key not in SORTS:
        sort, key = "code", "code"
    descending = sort.startswith("-")
    money = selectors.project_money(projects)
    if SORTS[key] is None:
        rows = list(projects.order_by("code"))
        rows.sort(key=lambda p: getattr(money.get(p.pk), key, Decimal(0)), reverse=descending)
    else:
        order = [f"-{name}" if descending else name for name in SORTS[key]]
        rows = projects.order_by(*order)
    if request.GET.get("format") == "csv":
        return _project_csv(rows, money, form)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    for project in page:
        project.money = money.get(project.pk)
    query = request.GET.copy()
    query.pop("page", None)
    filters = query.copy()
    filters.pop("sort", None)
    filters.pop("format", None)
    columns = [
        (name, label, name == key, descending)
        for name, label in (
            ("code", _("Project")),
            ("country", _("Country")),
            ("partner", _("Implementing partner")),
            ("status", _("Status")),
            ("launch", _("Launch")),
            ("committed", _("Committed")),
            ("disbursed", _("Disbursed")),
            ("flags", _("Open flags")),
        )
    ]
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filters": filters.urlencode(),
        "sort": sort,
        "columns": columns,
    }
    return render(request, "projects/project_list.html", context)


def _project_csv(rows, money, form):
    """The filtered, sorted list as CSV, named after its filters and the day."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_csv_name(form)}"'
    response.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    out = csv.writer(response)
    out.writerow(
        [
            _("Project"),
            _("Title"),
            _("Country"),
            _("Implementing partner"),
            _("Status"),
            _("Launch"),
            _("Currency"),
            _("Committed"),
            _("Disbursed"),
            _("Open flags"),
        ]
    )
    for project in rows:
        found = money.get(project.pk)
        out.writerow(
            [
                _safe(value)
                for value in (
                    project.code,
                    project.title,
                    project.country.name,
                    project.implementing_partner,
                    project.get_status_display(),
                    project.launch_date or "",
                    found.currency if found else project.portfolio.reporting_currency,
                    found.committed if found else "0.00",
                    found.disbursed if found else "0.00",
                    project.open_flags,
                )
            ]
        )
    return response


def _safe(value):
    """A cell a spreadsheet will not run: text starting like a formula is quoted."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_name(form):
    """projects-2026-11-28.csv, with the filters in use: projects-status-launched-2026-11-28.csv."""
    parts = ["projects"]
    if form.is_bound and form.is_valid():
        for name, value in form.cleaned_data.items():
            if value in (None, "", False):
                continue
            shown = "yes" if value is True else getattr(value, "pk", value)
            parts.append(slugify(f"{name}-{shown}"))
    parts.append(timezone.localdate().isoformat())
    return "-".join(parts) + ".csv"


@reader_required
def project_detail(request, pk):
    project = get_object_or_404(
        access.visible(
            request.user, Project.objects.select_related("portfolio", "implementing_partner")
        ),
        pk=pk,
    )
    user = request.user
    today = timezone.localdate()
    tranches = list(
        project.tranches.select_related(
            "funder", "loan_terms", "payout_terms__target__indicator"
        ).order_by("purpose", "covers_from", "pk")
    )
    for tranche in tranches:
        tranche.can_change = access.may(user, access.CHANGE, tranche)
        tranche.can_disburse = tranche.payable_amount > 0 and access.may(
            user, access.ADD, Disbursement(tranche=tranche)
        )
        terms = getattr(tranche, "loan_terms", None)
        tranche.schedule = (
            terms.schedule() if terms and tranche.instrument == Instrument.LOAN else None
        )
    disbursements = list(
        Disbursement.objects.filter(tranche__project=project)
        .select_related("tranche__funder", "recorded_by")
        .order_by("-disbursed_on", "-pk")
    )
    for disbursement in disbursements:
        disbursement.can_undo = access.may(user, access.DELETE, disbursement)
    judged = selectors.project_coverage(project, today)
    indicators = dashboard.indicators_with_progress(
        project.indicators.prefetch_related(
            Prefetch(
                "measurements",
                queryset=Measurement.objects.select_related("reported_by", "verified_by").order_by(
                    "-period_end", "disaggregation"
                ),
                to_attr="all_measurements",
            )
        ),
        today,
    )
    names = category_names(project.portfolio_id)
    for indicator in indicators:
        for measurement in indicator.all_measurements:
            measurement.category = category_label(measurement.disaggregation, names)
    may_review = access.may(user, access.REVIEW, Measurement)
    evaluations = list(
        access.visible(user, Evaluation.objects.filter(project=project))
        .select_related("evaluator")
        .prefetch_related("recommendations__owner_organisation", "recommendations__updates__author")
    )
    for evaluation in evaluations:
        for recommendation in evaluation.recommendations.all():
            recommendation.may_follow_up = access.may(user, access.CHANGE, recommendation)
            recommendation.overdue = recommendation.is_overdue(today)
    # An implementer reads the results of its own organisation's projects only.
    reads_results = access.may(user, access.VIEW, Evaluation(project=project))
    if not reads_results:
        indicators = []
    context = {
        "project": project,
        "today": today,
        "open_flags": dashboard.open_flags(user, {"project": project}),
        "tranches": tranches,
        "disbursements": disbursements,
        "timeline": timeline.build(
            [(project.pk, project.code, project.title, judged.assessment)], today
        ),
        "indicators": indicators,
        "may_review": may_review,
        "evaluations": evaluations,
        "follow_up_choices": FollowUp.choices,
        "plan": selectors.project_plan(project, today),
        "sdg_goals": sdg_goals(project),
        "may_change_plan": access.may(user, access.ADD, CostLine),
        "history": project_history(project),
        "may_add_tranche": access.may(user, access.ADD, project.tranches.model),
        "may_record_results": access.may(
            user, access.ADD, Measurement(indicator=Indicator(project=project))
        ),
        "may_record_evaluation": access.may(user, access.ADD, Evaluation),
    }
    return render(request, "projects/project_detail.html", context)


def sdg_goals(project) -> list[tuple[int, str]]:
    """The project's SDG goals with their names, as the IATI file tags them."""
    if not project.sdg_goals:
        return []
    names = codelist_names("UNSDG-Goals")
    return [(goal, names.get(str(goal), "")) for goal in sorted(project.sdg_goals)]
