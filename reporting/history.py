"""The history of changes of one project: its own record and those of its money and results,
merged newest first, each naming who changed what."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from evaluations.models import Evaluation, Measurement, Target
from funding.models import Disbursement, LoanTerms, Tranche

KINDS = {"+": "created", "~": "changed", "-": "deleted"}


def project_history(project, limit=40):
    sources = [
        (project.history.all(), _("Project")),
        (Tranche.history.filter(project=project), _("Tranche")),
        (LoanTerms.history.filter(tranche__project=project), _("Loan terms")),
        (Disbursement.history.filter(tranche__project=project), _("Disbursement")),
        (Target.history.filter(indicator__project=project), _("Target")),
        (Measurement.history.filter(indicator__project=project), _("Measurement")),
        (Evaluation.history.filter(project=project), _("Evaluation")),
    ]
    records = []
    for queryset, label in sources:
        for record in queryset.select_related("history_user").order_by("-history_date")[:limit]:
            records.append((record, label))
    records.sort(key=lambda pair: pair[0].history_date, reverse=True)
    entries = []
    for record, label in records[:limit]:
        changed = []
        if record.history_type == "~":
            previous = record.prev_record
            if previous is not None:
                changed = _changes(record, previous)
        entries.append(
            {
                "when": record.history_date,
                "who": record.history_user,
                "what": label,
                "object_id": record.id,
                "kind": KINDS.get(record.history_type, ""),
                "reason": getattr(record, "history_change_reason", None) or "",
                "changes": changed,
            }
        )
    return entries


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
