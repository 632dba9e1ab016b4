"""Project pages: the filtered list, and one project with its money, coverage, results and history."""

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from evaluations.models import Evaluation, Measurement
from funding import selectors, timeline
from funding.models import Disbursement, Instrument
from portfolio import access
from portfolio.decorators import reader_required
from reporting import dashboard
from reporting.history import project_history

from .forms import ProjectFilterForm
from .models import CostLine, Project


@reader_required
def project_list(request):
    form = ProjectFilterForm(request.GET or None)
    projects = form.filter(
        access.visible(request.user, Project.objects.all())
        .select_related("portfolio", "implementing_partner")
        .annotate(
            open_flags=Count(
                "lapse_flags", filter=Q(lapse_flags__resolved_at__isnull=True), distinct=True
            )
        )
        .order_by("code")
    )
    page = Paginator(projects, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "projects/project_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


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
        tranche.can_disburse = selectors.payable_amount(tranche) > 0 and access.may(
            user, access.ADD, Disbursement(tranche=tranche)
        )
        terms = getattr(tranche, "loan_terms", None)
        tranche.schedule = (
            terms.schedule() if terms and tranche.instrument == Instrument.LOAN else None
        )
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
    may_review = access.may(user, access.REVIEW, Measurement)
    context = {
        "project": project,
        "today": today,
        "open_flags": dashboard.open_flags(user, {"project": project}),
        "tranches": tranches,
        "disbursements": Disbursement.objects.filter(tranche__project=project)
        .select_related("tranche__funder", "recorded_by")
        .order_by("-disbursed_on", "-pk"),
        "timeline": timeline.build(
            [(project.pk, project.code, project.title, judged.assessment)], today
        ),
        "indicators": indicators,
        "may_review": may_review,
        "evaluations": Evaluation.objects.filter(project=project)
        .select_related("evaluator")
        .prefetch_related("recommendations"),
        "plan": selectors.project_plan(project, today),
        "may_change_plan": access.may(user, access.ADD, CostLine),
        "history": project_history(project),
        "may_add_tranche": access.may(user, access.ADD, project.tranches.model),
        "may_record_results": access.may(user, access.ADD, Measurement),
        "may_record_evaluation": access.may(user, access.ADD, Evaluation),
    }
    return render(request, "projects/project_detail.html", context)
