"""What the dashboard shows for one portfolio: money by instrument and purpose, leverage,
coverage (forecast and timeline), indicator status and recent activity. Read-only."""

import hashlib
from collections import Counter

from django.core.cache import cache
from django.db.models import Count, Max, Prefetch
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import gettext as _

from evaluations import progress
from evaluations.models import (
    Evaluation,
    Indicator,
    Measurement,
    Recommendation,
    category_label,
    category_names,
)
from funding import coverage, figures, selectors, timeline
from funding.models import Disbursement, Tranche
from portfolio import access
from projects.models import Project

FORECAST_MONTHS = 24


def money(portfolio, as_of) -> figures.Figures:
    """Signed tranches as of `as_of`: committed, disbursed and undisbursed, converted as finance
    staff do (funding.selectors.portfolio_figures, which the API and the workbook also read)."""
    return selectors.portfolio_figures(portfolio, as_of)


def _coverage_version(portfolio):
    """Changes whenever a project or tranche of the portfolio is saved, added or removed."""
    tranches = Tranche.objects.filter(project__portfolio=portfolio).aggregate(
        n=Count("id"), changed=Max("updated_at")
    )
    projects = portfolio.projects.aggregate(n=Count("id"), changed=Max("updated_at"))
    version = (
        f"{tranches['n']}.{tranches['changed']}.{projects['n']}.{projects['changed']}"
        f".{portfolio.lapse_warning_days}"
    )
    return hashlib.sha256(version.encode()).hexdigest()[:16]


def assessments(portfolio, today):
    """Coverage of each launched project of the portfolio, cached per portfolio and day.

    The key also carries the latest change to its projects and tranches, so a tranche saved
    at noon shows at once rather than tomorrow.
    """
    key = f"dashboard-coverage:{portfolio.pk}:{today.isoformat()}:{_coverage_version(portfolio)}"
    judged = cache.get(key)
    if judged is None:
        ids = list(portfolio.projects.launched().values_list("id", flat=True))
        judged = selectors.assess_projects(today, ids) if ids else []
        cache.set(key, judged, 60 * 60 * 24)
    return judged


def cost_lines(portfolio, today):
    """Recurrent cost lines of the portfolio's launched services by category, least funded
    first (funding.selectors.lines_by_category)."""
    ids = list(portfolio.projects.launched().values_list("id", flat=True))
    return selectors.lines_by_category(today, ids) if ids else []


def forecast_bars(judged, today, height):
    """The next months' shares of required service days secured, planned only and uncovered."""
    months = coverage.portfolio_forecast(
        coverage.forecast(
            item.assessment.window,
            item.assessment.secured,
            item.assessment.pipeline,
            today,
            FORECAST_MONTHS,
        )
        for item in judged
    )
    return [
        {
            "month": m.month,
            "secured": round(m.secured * height),
            "pipeline": round(m.pipeline_only * height),
            "uncovered": round(m.uncovered * height),
            "secured_pct": round(m.secured * 100),
            "pipeline_pct": round(m.pipeline_only * 100),
            "uncovered_pct": round(m.uncovered * 100),
        }
        for m in months
    ]


def coverage_timeline(judged, today):
    return timeline.build(
        [(item.project_id, item.code, item.title, item.assessment) for item in judged], today
    )


def indicators_with_progress(indicators, today):
    """Each indicator with `.progress` (per category, total first) from verified values only,
    read in three queries however many indicators there are."""
    indicators = indicators.prefetch_related(
        "targets",
        Prefetch("measurements", queryset=Measurement.objects.verified(), to_attr="verified"),
    )
    result = []
    names = None
    for indicator in indicators:
        indicator.progress_rows = progress.indicator_progress(
            indicator.as_spec(),
            [m.as_observation() for m in indicator.verified],
            [t.as_goal() for t in indicator.targets.all()],
            today,
        )
        indicator.total = next(
            (row for row in indicator.progress_rows if row.category == progress.TOTAL), None
        )
        if names is None and any(row.category for row in indicator.progress_rows):
            names = category_names()  # read once, and only when a category is shown
        indicator.chart = [_chart_row(row, names or {}) for row in indicator.progress_rows]
        result.append(indicator)
    return result


def _percent(share):
    """A share as a whole percent clipped to 0..100, for a bar's width."""
    if share is None:
        return None
    return int(min(max(share, 0), 1) * 100)


def _chart_row(row, names):
    return {
        "progress": row,
        "category": category_label(row.category, names),
        "achieved_width": _percent(row.achievement),
        "achieved_pct": None if row.achievement is None else round(row.achievement * 100),
        "expected_pct": _percent(row.time_elapsed),
    }


STATUSES = (progress.ACHIEVED, progress.ON_TRACK, progress.OFF_TRACK, progress.NO_DATA)


def indicator_counts(portfolio, today):
    """How many indicators are achieved, on track, off track or without data (their totals)."""
    indicators = indicators_with_progress(
        Indicator.objects.filter(project__portfolio=portfolio), today
    )
    counts = Counter(
        indicator.total.status if indicator.total else progress.NO_DATA for indicator in indicators
    )
    return [(status, counts.get(status, 0)) for status in STATUSES], len(indicators)


def recent_activity(portfolio, limit=10):
    """The latest changes to money and results, newest first, each in a sentence."""
    events = []
    for record in (
        Tranche.history.filter(project__portfolio=portfolio)
        .select_related("history_user", "project", "funder")
        .order_by("-history_date")[:limit]
    ):
        events.append(
            (
                record.history_date,
                record.history_user,
                record.project,
                _tranche_sentence(record),
            )
        )
    for record in (
        Disbursement.history.filter(tranche__project__portfolio=portfolio)
        .select_related("history_user", "tranche__project")
        .order_by("-history_date")[:limit]
    ):
        verb = (
            _("Disbursement recorded: %(currency)s %(amount)s")
            if record.history_type == "+"
            else _("Disbursement changed: %(currency)s %(amount)s")
        )
        events.append(
            (
                record.history_date,
                record.history_user,
                record.tranche.project,
                verb % {"currency": record.tranche.currency, "amount": _number(record.amount)},
            )
        )
    for record in (
        Measurement.history.filter(indicator__project__portfolio=portfolio)
        .select_related("history_user", "indicator__project")
        .order_by("-history_date")[:limit]
    ):
        sentence = {
            "draft": _("Result drafted for %(indicator)s"),
            "submitted": _("Result submitted for %(indicator)s"),
            "returned": _("Result returned for revision for %(indicator)s"),
            "verified": _("Result verified for %(indicator)s"),
            "rejected": _("Result rejected for %(indicator)s"),
            "superseded": _("Result superseded for %(indicator)s"),
        }.get(record.status, _("Result changed for %(indicator)s"))
        events.append(
            (
                record.history_date,
                record.history_user,
                record.indicator.project,
                sentence % {"indicator": record.indicator.code},
            )
        )
    for record in (
        Evaluation.history.filter(project__portfolio=portfolio)
        .select_related("history_user", "project")
        .order_by("-history_date")[:limit]
    ):
        events.append(
            (
                record.history_date,
                record.history_user,
                record.project,
                _("Evaluation recorded: %(kind)s") % {"kind": _(record.get_kind_display())},
            )
        )
    events.sort(key=lambda event: event[0], reverse=True)
    return [
        {"when": when, "who": who, "project": project, "what": what}
        for when, who, project, what in events[:limit]
    ]


def _number(amount):
    """Money with two places, grouped in the reader's locale (1,234.50 or 1 234,50)."""
    return floatformat(amount, "2g")


def _tranche_sentence(record):
    values = {
        "currency": record.currency,
        "amount": _number(record.amount),
        "funder": record.funder,
    }
    if record.history_type == "+":
        return _("Tranche logged: %(funder)s, %(currency)s %(amount)s") % values
    if record.history_type == "-":
        return _("Tranche deleted: %(funder)s, %(currency)s %(amount)s") % values
    return _("Tranche changed: %(funder)s, %(currency)s %(amount)s") % values


def status_counts(portfolio):
    """Projects per status, in lifecycle order."""
    counts = dict(
        Project.objects.filter(portfolio=portfolio)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        {"status": status, "label": label, "n": counts[status]}
        for status, label in Project.Status.choices
        if status in counts
    ]


def urgency(flag):
    """Most urgent first (funding.coverage.FLAG_KINDS), then the nearest gap, then the project."""
    days = flag.days_to_lapse
    return (coverage.flag_urgency(flag.kind), days if days is not None else 0, flag.project.code)


def open_flags(user, projects_filter, as_of=None):
    """Flags open at the end of `as_of` (default today), most urgent first, each knowing
    whether `user` may acknowledge it."""
    flags = sorted(
        selectors.open_flags_on(as_of or timezone.localdate())
        .filter(**projects_filter)
        .select_related("project__portfolio", "acknowledged_by"),
        key=urgency,
    )
    for flag in flags:
        flag.can_acknowledge = flag.is_open and access.may(user, access.ACKNOWLEDGE, flag)
        flag.days_since = -flag.days_to_lapse if flag.days_to_lapse is not None else None
    return flags


def flag_counts(flags):
    """(kind, label, how many) of the flags shown, for every kind, most urgent first."""
    return selectors.flag_counts(flag.kind for flag in flags)


def overdue_recommendations(user, portfolio, today, limit=20):
    """Recommendations past their due date and not yet done, oldest due first."""
    return list(
        access.visible(
            user, Recommendation.objects.filter(evaluation__project__portfolio=portfolio)
        )
        .overdue(today)
        .select_related("evaluation__project", "owner_organisation")
        .order_by("due_on", "pk")[:limit]
    )
