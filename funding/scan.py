"""The lapse scan: raises, escalates and resolves flags, sends reminders and digests."""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from portfolio.models import Membership, Portfolio, Role
from portfolio.outbox import enqueue_on_commit
from projects.models import Project

from . import coverage
from .models import FlagKind, LapseFlag, LapseReminder, Tranche
from .selectors import (
    assess_projects,
    closed_within_window,
    disbursed_totals_out_of_step,
    overdue_disbursements,
    overdue_repayments,
    scoped,
)

# PostgreSQL advisory locks. A scan of every project holds SCAN_LOCK_KEY alone; a scan of a
# few projects (the one inside each save) shares it and holds a lock per project, so saves on
# different projects rescan side by side while the same project's flags are written by one
# scan at a time, and never at the same time as the full scan.
SCAN_LOCK_KEY = 7_310_001
PROJECT_LOCK_CLASS = 7_310
BATCH = 2000
SEND_LAPSE_DIGEST = "funding.tasks.send_lapse_digest"
SEND_MONEY_ALARM = "funding.tasks.send_money_alarm"
logger = logging.getLogger(__name__)


@dataclass
class ScanResult:
    as_of: date
    raised: int = 0
    escalated: int = 0
    resolved: int = 0
    open: int = 0
    reminders: int = 0
    flags: list = field(default_factory=list)  # the open flags after the scan
    warnings: list = field(default_factory=list)
    digests: dict = field(default_factory=dict)  # email -> list of digest lines
    out_of_step: list = field(default_factory=list)  # tranches whose total is not their rows

    def as_dict(self):
        return {
            "as_of": self.as_of.isoformat(),
            "raised": self.raised,
            "escalated": self.escalated,
            "resolved": self.resolved,
            "open": self.open,
            "reminders": self.reminders,
            "totals_out_of_step": len(self.out_of_step),
        }


def _wanted_flags(judged, overdue, as_of, closed=None, in_arrears=None):
    """(project_id, kind) -> field values of the flag that should be open."""
    wanted = {}
    for item in judged:
        for flag in item.assessment.flags:
            wanted[(item.project_id, flag.kind)] = _values(flag)
    for project_id, first_expected in overdue.items():
        wanted[(project_id, FlagKind.DISBURSEMENT_OVERDUE)] = {
            "gap_start": first_expected,
            "gap_end": None,
            "shortfall": None,
            "lines": "",
        }
    for project_id, flag in (closed or {}).items():
        wanted[(project_id, flag.kind)] = _values(flag)
    # A loan in arrears: the gap starts on the oldest unpaid due date, open-ended until paid.
    for project_id, first_due in (in_arrears or {}).items():
        wanted[(project_id, FlagKind.REPAYMENT_OVERDUE)] = {
            "gap_start": first_due,
            "gap_end": None,
            "shortfall": None,
            "lines": "",
        }
    return wanted


def _values(flag):
    return {
        "gap_start": flag.gap_start,
        "gap_end": flag.gap_end,
        "shortfall": flag.shortfall,
        "lines": flag.lines,
    }


def _update_flags(flags):
    """Write changed gaps back. Underfunded gaps move every day, so a daily scan of a big
    portfolio rewrites 100,000s of rows: on PostgreSQL they are copied into a temporary table
    and written by one UPDATE ... FROM it (bulk_update's CASE expressions grow with the square
    of the batch, and even a statement of VALUES costs seconds to build and parse)."""
    fields = ["gap_start", "gap_end", "shortfall", "lines", "last_seen_on"]
    if connection.vendor != "postgresql":
        LapseFlag.objects.bulk_update(flags, fields, batch_size=BATCH)
        return
    if not flags:
        return
    table = connection.ops.quote_name(LapseFlag._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE scan_flag_change (id bigint, gap_start date, gap_end date, "
            "shortfall numeric, lines varchar, last_seen_on date) ON COMMIT DROP"
        )
        with cursor.copy("COPY scan_flag_change FROM STDIN") as copy:
            for f in flags:
                copy.write_row((f.pk, f.gap_start, f.gap_end, f.shortfall, f.lines, f.last_seen_on))
        cursor.execute(
            f"UPDATE {table} AS flag SET gap_start = v.gap_start, gap_end = v.gap_end, "  # noqa: S608 - table name is ours
            "shortfall = v.shortfall, lines = v.lines, last_seen_on = v.last_seen_on "
            "FROM scan_flag_change AS v WHERE flag.id = v.id"
        )
        # Dropped now, not only at commit: a caller's transaction may hold more than one scan.
        cursor.execute("DROP TABLE scan_flag_change")


def _create_flags(flags):
    """Insert new flags. A first scan of a big portfolio raises 100,000s at once: on PostgreSQL
    they go in by COPY, 3 s for 150,000 where bulk_create's multi-row INSERTs took 9-12 s (most
    of it building and parsing statements of 26,000 parameters)."""
    if connection.vendor != "postgresql":
        LapseFlag.objects.bulk_create(flags, batch_size=BATCH)
        return
    fields = [f for f in LapseFlag._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(LapseFlag._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for flag in flags:
            copy.write_row([getattr(flag, f.attname) for f in fields])


def _take_scan_lock(project_ids):
    if connection.vendor != "postgresql":
        return  # SQLite has one writer at a time: the transaction itself is the lock
    with connection.cursor() as cursor:
        if project_ids is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCAN_LOCK_KEY])
            return
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SCAN_LOCK_KEY])
        # In id order, so two saves touching the same projects wait in turn, never deadlock.
        keys = sorted({project_id % 2_147_483_647 for project_id in project_ids})
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, key) FROM "
            "(SELECT key FROM unnest(%s::int[]) AS key ORDER BY key) AS ordered",
            [PROJECT_LOCK_CLASS, keys],
        )


@transaction.atomic
def scan_lapses(as_of: date | None = None, projects=None, dry_run=False) -> ScanResult:
    """Raise, update and resolve lapse flags as of a date; send reminders and digests.

    Idempotent: a second run on the same date changes nothing and announces nothing. The
    number of queries does not depend on the number of projects. With `projects` (ids),
    only those are rescanned. With `dry_run`, everything is rolled back and nothing is sent.
    """
    as_of = as_of or timezone.localdate()
    project_ids = None if projects is None else [getattr(p, "pk", p) for p in projects]
    _take_scan_lock(project_ids)
    now = timezone.now()
    result = ScanResult(as_of)

    judged = assess_projects(as_of, project_ids)
    result.warnings = [
        f"{item.code}: underfunded not checked: {item.unconverted}"
        for item in judged
        if item.unconverted
    ]
    wanted = _wanted_flags(
        judged,
        overdue_disbursements(as_of, project_ids),
        as_of,
        closed=closed_within_window(as_of, project_ids),
        in_arrears=overdue_repayments(as_of, project_ids),
    )
    open_flags = {
        (flag.project_id, flag.kind): flag
        for flag in scoped(LapseFlag.objects.open(), project_ids).iterator(chunk_size=BATCH)
    }

    to_resolve = [flag for key, flag in open_flags.items() if key not in wanted]
    # (project, new kind) -> the open kind it replaces, when that is an escalation
    escalations = {}
    for flag in to_resolve:
        key = (flag.project_id, coverage.escalates_to(flag.kind))
        if key in wanted and key not in open_flags:
            escalations[key] = flag.kind
    to_create, to_update = [], []
    for key, values in wanted.items():
        flag = open_flags.get(key)
        if flag is None:
            project_id, kind = key
            escalated_from = escalations.get(key, "")
            to_create.append(
                LapseFlag(
                    project_id=project_id,
                    kind=kind,
                    raised_at=now,
                    last_seen_on=as_of,
                    escalated_from=escalated_from,
                    **values,
                )
            )
        elif any(getattr(flag, k) != v for k, v in values.items()):
            for name, value in values.items():
                setattr(flag, name, value)
            flag.last_seen_on = as_of
            to_update.append(flag)
        else:
            flag.last_seen_on = as_of

    for start in range(0, len(to_resolve), BATCH):
        ids = [flag.pk for flag in to_resolve[start : start + BATCH]]
        LapseFlag.objects.filter(pk__in=ids).update(resolved_at=now)
    _create_flags(to_create)
    _update_flags(to_update)
    # Every other open flag was found again unchanged: one statement marks them all as seen.
    scoped(LapseFlag.objects.open(), project_ids).exclude(last_seen_on=as_of).update(
        last_seen_on=as_of
    )

    result.escalated = sum(1 for flag in to_create if flag.escalated_from)
    result.raised = len(to_create) - result.escalated
    result.resolved = len(to_resolve) - len(escalations)
    result.open = len(wanted)
    result.flags = sorted(
        [*to_create, *(f for key, f in open_flags.items() if key in wanted)],
        key=lambda f: (f.project_id, f.kind),
    )
    reminders = _due_reminders(judged, as_of, now)
    result.reminders = len(reminders)
    with translation.override("en"):  # the digest email is written in English
        result.digests = _digests(judged, to_create, reminders)

    if project_ids is None:
        result.out_of_step = disbursed_totals_out_of_step()
    if dry_run:
        transaction.set_rollback(True)
        return result
    for email, lines in result.digests.items():
        enqueue_on_commit(SEND_LAPSE_DIGEST, email, as_of.isoformat(), lines)
    if result.out_of_step:
        raise_money_alarm(result.out_of_step, as_of)
    return result


def raise_money_alarm(out_of_step, as_of):
    """Money that does not add up is never silent: an error in the log, and an email to the
    portfolio managers through the outbox."""
    for item in out_of_step:
        logger.error(
            "Tranche %s (%s %s) records %s %s disbursed, but its disbursements sum to %s",
            item.tranche_id, item.project, item.funder_reference, item.stored, item.currency,
            item.rows,
        )  # fmt: skip
    managers = sorted(
        set(
            Membership.objects.filter(role=Role.PORTFOLIO_MANAGER, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if managers:
        enqueue_on_commit(
            SEND_MONEY_ALARM, managers, as_of.isoformat(), [item.as_dict() for item in out_of_step]
        )


def _due_reminders(judged, as_of, now):
    """Reminders whose threshold secured coverage has now come within, each sent once.

    When a scan finds several thresholds passed at once (say a project first seen 20 days
    before its lapse), one reminder goes out and all of them are recorded as sent.
    """
    portfolios = dict(Portfolio.objects.values_list("id", "reminder_days"))
    candidates = []
    for item in judged:
        a = item.assessment
        if not a.window.contains(as_of) or a.days_to_lapse is None or a.days_to_lapse <= 0:
            continue
        thresholds = [d for d in portfolios.get(item.portfolio_id) or [] if a.days_to_lapse <= d]
        if thresholds:
            candidates.append((item, a.next_gap.start - timedelta(days=1), thresholds))
    if not candidates:
        return []
    sent = set()
    candidate_ids = [item.project_id for item, _, _ in candidates]
    for start in range(0, len(candidate_ids), BATCH):
        sent.update(
            LapseReminder.objects.filter(
                project_id__in=candidate_ids[start : start + BATCH]
            ).values_list("project_id", "coverage_ends_on", "threshold_days")
        )
    due, rows = [], []
    for item, ends_on, thresholds in candidates:
        new = [d for d in thresholds if (item.project_id, ends_on, d) not in sent]
        if new:
            due.append((item, ends_on, min(thresholds)))
            rows += [
                LapseReminder(
                    project_id=item.project_id,
                    coverage_ends_on=ends_on,
                    threshold_days=d,
                    sent_at=now,
                )
                for d in new
            ]
    LapseReminder.objects.bulk_create(rows, batch_size=BATCH)
    return due


def _recipients(project_ids):
    """project id -> emails of its funders' donor officers and of the portfolio managers."""
    managers = set(
        Membership.objects.filter(role=Role.PORTFOLIO_MANAGER, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    officers_by_funder = defaultdict(set)
    for funder_id, email in (
        Membership.objects.filter(role=Role.DONOR_OFFICER, user__is_active=True)
        .exclude(user__email="")
        .values_list("organisation_id", "user__email")
    ):
        officers_by_funder[funder_id].add(email)
    recipients = defaultdict(lambda: set(managers))
    project_ids = list(project_ids)
    for start in range(0, len(project_ids), BATCH):
        pairs = (
            Tranche.objects.not_cancelled()
            .filter(project_id__in=project_ids[start : start + BATCH])
            .values_list("project_id", "funder_id")
            .order_by()
            .distinct()
        )
        for project_id, funder_id in pairs:
            recipients[project_id] |= officers_by_funder[funder_id]
    return {project_id: recipients[project_id] for project_id in project_ids}


def _digests(judged, new_flags, reminders):
    """email -> the lines of its digest: new flags, escalations and reminders, by project."""
    items = {item.project_id: item for item in judged}
    events = []
    for flag in new_flags:
        event = "escalated" if flag.escalated_from else "new"
        events.append(
            (
                flag.project_id,
                event,
                flag.kind,
                flag.gap_start,
                flag.gap_end,
                flag.days_to_lapse,
                flag.lines,
            )
        )
    for item, _ends_on, threshold in reminders:
        a = item.assessment
        events.append(
            (
                item.project_id,
                f"reminder_{threshold}",
                "reminder",
                a.next_gap.start,
                a.next_gap.end,
                a.days_to_lapse,
                "",
            )
        )
    if not events:
        return {}
    missing = {project_id for project_id, *_ in events if project_id not in items}
    titles = {
        p.pk: (p.code, p.title)
        for p in Project.objects.filter(pk__in=missing).only("code", "title")
    }
    titles.update({item.project_id: (item.code, item.title) for item in judged})
    recipients = _recipients({project_id for project_id, *_ in events})
    # Loans in arrears are finance staff's business too: they record the repayments.
    finance = set()
    if any(kind == FlagKind.REPAYMENT_OVERDUE for _, _, kind, *_ in events):
        finance = set(
            Membership.objects.filter(role=Role.FINANCE, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    # Worked out once per kind and per project, not per line: a first scan of a big portfolio
    # writes a line for each of its 100,000s of new flags.
    kind_labels = {kind: str(kind.label) for kind in FlagKind}
    urls = {}
    digests = defaultdict(list)
    for project_id, event, kind, gap_start, gap_end, days, line_names in sorted(
        events, key=lambda e: (titles[e[0]][0], e[1])
    ):
        code, title = titles[project_id]
        url = urls.get(project_id)
        if url is None:
            url = urls[project_id] = reverse("project-detail", args=[project_id])
        line = {
            "project": code,
            "title": title,
            "event": event,
            "kind": kind,
            "gap_start": gap_start.isoformat() if gap_start else None,
            "gap_end": gap_end.isoformat() if gap_end else None,
            "days_to_lapse": days,
            "lines": line_names,
            "kind_label": kind_labels.get(kind, "Reminder"),
            "when": _when(days),
            "url": url,
        }
        emails = recipients[project_id]
        if kind == FlagKind.REPAYMENT_OVERDUE:
            emails = emails | finance
        for email in sorted(emails):
            digests[email].append(line)
    return dict(digests)


def _when(days):
    """The gap's start in words, from the scan date."""
    if days is None:
        return ""
    if days > 0:
        return f"starts in {days} day{'s' if days != 1 else ''}"
    if days == 0:
        return "starts today"
    return f"began {-days} day{'s' if days != -1 else ''} ago"
