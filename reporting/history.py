"""The history of changes of one project: its own record and those of its money and results,
merged newest first, each naming who changed what."""

from django.contrib.auth import get_user_model
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from evaluations.models import Evaluation, Measurement, Target
from funding.models import Disbursement, LoanTerms, Tranche

KINDS = {"+": "created", "~": "changed", "-": "deleted"}


def project_history(project, limit=40):
    """The project's last `limit` changes, newest first, each naming the thing changed
    ("Measurement of OUT-1 for 1 Apr 2026 – 30 Jun 2026") and who changed it ("system" for a
    change no person made)."""
    sources = [
        (project.history.all(), _project),
        (Tranche.history.select_related("funder"), _tranche),
        (LoanTerms.history.select_related("tranche"), _loan_terms),
        (Disbursement.history.select_related("tranche"), _disbursement),
        (Target.history.select_related("indicator"), _target),
        (Measurement.history.select_related("indicator"), _measurement),
        (Evaluation.history.all(), _evaluation),
    ]
    scopes = [
        {},
        {"project": project},
        {"tranche__project": project},
        {"tranche__project": project},
        {"indicator__project": project},
        {"indicator__project": project},
        {"project": project},
    ]
    records = []
    for (queryset, name), scope in zip(sources, scopes, strict=True):
        found = queryset.filter(**scope).select_related("history_user")
        for record in found.order_by("-history_date")[:limit]:
            records.append((record, name))
    records.sort(key=lambda pair: pair[0].history_date, reverse=True)
    entries = []
    for record, name in records[:limit]:
        changed = []
        if record.history_type == "~":
            previous = record.prev_record
            if previous is not None:
                changed = _changes(record, previous)
        entries.append(
            {
                "when": record.history_date,
                "who": record.history_user,
                "who_name": _who(record.history_user),
                "what": name(record),
                "object_id": record.id,
                "kind": KINDS.get(record.history_type, ""),
                "reason": getattr(record, "history_change_reason", None) or "",
                "changes": changed,
            }
        )
    return entries


def _who(user):
    if user is None:
        return _("system")
    return user.get_full_name() or user.get_username()


def _period(start, end):
    return f"{date_format(start, 'SHORT_DATE_FORMAT')} – {date_format(end, 'SHORT_DATE_FORMAT')}"


def _project(record):
    return _("Project %(code)s") % {"code": record.code}


def _tranche(record):
    return _("Tranche %(reference)s of %(funder)s") % {
        "reference": record.funder_reference or f"#{record.id}",
        "funder": record.funder,
    }


def _loan_terms(record):
    tranche = record.tranche
    return _("Loan terms of tranche %(reference)s") % {
        "reference": getattr(tranche, "funder_reference", "") or f"#{record.tranche_id}"
    }


def _disbursement(record):
    tranche = record.tranche
    return _("Disbursement of %(currency)s %(amount)s on %(day)s") % {
        "currency": getattr(tranche, "currency", ""),
        "amount": number_format(record.amount, 2, force_grouping=True),
        "day": date_format(record.disbursed_on, "SHORT_DATE_FORMAT"),
    }


def _target(record):
    return _("Target of %(indicator)s for %(day)s") % {
        "indicator": record.indicator.code if record.indicator else f"#{record.indicator_id}",
        "day": date_format(record.due_on, "SHORT_DATE_FORMAT"),
    }


def _measurement(record):
    return _("Measurement of %(indicator)s for %(period)s") % {
        "indicator": record.indicator.code if record.indicator else f"#{record.indicator_id}",
        "period": _period(record.period_start, record.period_end),
    }


def _evaluation(record):
    return _("%(kind)s evaluation") % {"kind": record.get_kind_display()}


# Bookkeeping columns that change on every save and say nothing to a reader.
QUIET = {"updated_at", "created_at", "recorded_at", "reported_at"}


def _changes(record, previous):
    """Field by field, what this change altered. Worked out here rather than with
    diff_against(), which leaves out the fields people cannot edit, such as a status."""
    User = get_user_model()
    changes = []
    for field in record.instance_type._meta.concrete_fields:
        if field.name in QUIET or field.primary_key or field.related_model is User:
            continue  # the "who" column already names the person
        old, new = getattr(previous, field.attname), getattr(record, field.attname)
        if old != new:
            changes.append({"field": field.verbose_name, "old": old, "new": new})
    return changes
