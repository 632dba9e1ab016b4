"""Writing the workbook: the portfolio read a chunk of projects at a time, every sheet fed from
each chunk before the next is read, so memory depends on the chunk, not on the portfolio.

Everything is read inside one database snapshot and as of one date. Coverage and results come
from the same functions the lapse scan and the result pages use; money from the one conversion
rule (`figures`).
"""

from collections import Counter, defaultdict
from decimal import Decimal
from itertools import islice

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django_countries import countries

from evaluations import progress as results
from evaluations.models import (
    Level,
    Measure,
    StandardIndicator,
    category_label,
    category_names,
)
from evaluations.selectors import standard_results
from funding import coverage, schedules
from funding.models import FlagKind, Instrument, TrancheStatus
from funding.selectors import assess_projects, loan_statuses, project_plans
from portfolio.rates import NoRateError
from portfolio.xlsx import Book, Sheet
from projects.models import Status as ProjectStatus

from . import selectors, summary
from .figures import Money, tranche_figures
from .filters import ExportFilters
from .sheets import (
    DISBURSEMENT_COLUMNS,
    FORECAST_MONTHS,
    LOAN_COLUMNS,
    PROJECT_COLUMNS,
    RESULT_COLUMNS,
    SCHEDULE_COLUMNS,
    SCHEDULES_SHEET,
    STANDARD_COLUMNS,
    SUSTAINABILITY_COLUMNS,
    TRANCHE_COLUMNS,
    coverage_columns,
    long_date,
)

# How the Loan schedules sheet names an instalment's state (funding.loans).
STATE_LABEL = {"paid": "Paid", "overdue": "Overdue", "due": "Due", "upcoming": "Upcoming"}

CHUNK = 1000  # projects read, and written to every sheet, at a time
ZERO = Decimal("0.00")
NO_RATE = "No exchange rate: left out of the totals"


def write_workbook(out, filters: ExportFilters, progress=None) -> int:
    """Write the summary workbook to `out` (a path or a binary file); return the rows written.

    `progress`, if given, is called with the percent done whenever it moves.
    """
    return PortfolioWorkbook(filters, progress).write(out)


def _label(choices):
    labels = dict(choices)
    return lambda value: labels.get(value, value)


class Words(dict):
    """Codes in words, each looked up once an export (in the language active then): the same
    few labels, countries and categories go down thousands of rows."""

    def __init__(self, lookup):
        super().__init__()
        self.lookup = lookup

    def __missing__(self, code):
        words = self.lookup(code)
        if isinstance(words, Promise):
            words = str(words)
        self[code] = words
        return words


STATUS_LABEL = _label(ProjectStatus.choices)
LEVEL_LABEL = _label(Level.choices)
MEASURE_LABEL = _label(Measure.choices)


def month_state(month: coverage.MonthCoverage) -> str:
    """How a forecast month looks: any uncovered day makes it a gap; blank outside the window."""
    if month.uncovered_days:
        return "Gap"
    if month.pipeline_only_days:
        return "Pipeline"
    if month.secured_days:
        return "Secured"
    return ""


def sector(code: str):
    """A DAC purpose code is a number; anything else is left out rather than mixed in."""
    return int(code) if code and code.isdigit() else None


class PortfolioWorkbook:
    """One export: reads the portfolio a chunk at a time and keeps the Summary's running totals."""

    def __init__(self, filters: ExportFilters, progress=None):
        self.filters = filters
        self.as_of = filters.as_of or timezone.localdate()
        self.progress = progress
        self.percent = -1
        self.unconverted = Counter()  # currency without a rate -> rows left out of totals
        self.as_of_currencies = set()  # currencies converted at the as-of rate
        self.bad_schedules = 0
        self.loan_statuses = {}  # tranche id -> funding.loans.LoanStatus, per chunk
        self.by_instrument = defaultdict(Money)
        self.by_purpose = defaultdict(Money)
        self.by_status = Counter()
        self.open_flags = Counter()
        self.results_based = [ZERO, ZERO, ZERO]  # committed, eligible, paid

    def report(self, percent):
        if self.progress is not None and percent != self.percent:
            self.percent = percent
            self.progress(percent)

    def write(self, out) -> int:
        self.report(0)
        with selectors.snapshot():
            rows = self._write(out)
        self.report(100)
        return rows

    def _write(self, out) -> int:
        filters = self.filters
        self.currency = filters.reporting_currency()
        self.rates = selectors.rate_table(self.currency, self.as_of)
        self.category_names = category_names()
        self.country_name = Words(countries.name)
        self.status_label = Words(STATUS_LABEL)
        self.level_label = Words(LEVEL_LABEL)
        self.measure_label = Words(MEASURE_LABEL)
        self.result_status_label = Words(
            lambda status: gettext(results.STATUS_WORDS.get(status, status)).capitalize()
        )
        self.flag_label = Words(lambda kind: FlagKind(kind).label)
        self.category_label = Words(lambda category: category_label(category, self.category_names))
        self.book = book = Book(
            out,
            self.currency,
            footer=f"Portfolio summary: {filters.portfolio_name()[:60]}, {filters.funder_name()[:60]}",
            footer_date=f"As of {long_date(self.as_of)}",
        )
        # Every sheet exists from the start, in its place; Cover and Summary are filled last.
        cover = book.add_sheet("Cover")
        summary_sheet = book.add_sheet("Summary")
        self.sheets = {
            "projects": Sheet(book, "Projects", PROJECT_COLUMNS),
            "tranches": Sheet(book, "Tranches", TRANCHE_COLUMNS),
            "disbursements": Sheet(book, "Disbursements", DISBURSEMENT_COLUMNS),
            "coverage": Sheet(book, "Maintenance coverage", coverage_columns(self.as_of)),
            "sustainability": Sheet(book, "Sustainability", SUSTAINABILITY_COLUMNS),
            "results": Sheet(book, "Results", RESULT_COLUMNS),
            "standards": Sheet(book, "Standard indicators", STANDARD_COLUMNS),
            "loans": Sheet(book, "Loans", LOAN_COLUMNS, currency_column="Currency"),
        }
        if filters.with_schedules:
            self.sheets["schedules"] = Sheet(
                book, SCHEDULES_SHEET, SCHEDULE_COLUMNS, currency_column="Currency"
            )
        projects = filters.projects()
        total = projects.count()
        done = 0
        rows = selectors.projects(projects)
        while chunk := list(islice(rows, CHUNK)):
            self.write_chunk(chunk)
            done += len(chunk)
            self.report(90 * done // max(total, 1))
        self.write_standards(projects)
        for sheet in self.sheets.values():
            sheet.close()
        summary.write_summary(self, summary_sheet)
        summary.write_cover(self, cover)
        self.report(95)
        book.save()
        return sum(sheet.rows for sheet in self.sheets.values())

    # --- one chunk of projects, read set-based -------------------------------------------

    def write_chunk(self, projects):
        ids = [p["id"] for p in projects]
        tranche_filter = self.filters.tranche_filter()
        tranches = selectors.tranches(ids, self.as_of, tranche_filter)
        disbursements = selectors.disbursements(ids, self.as_of, tranche_filter)
        loans = selectors.loans(ids, self.as_of, tranche_filter)
        # The instalments still to come only mark the Loan schedules sheet; the status figures
        # are the same without them (funding.loans.loan_status), so they are left out unless
        # that sheet is asked for.
        self.loan_statuses = loan_statuses(
            [terms["tranche_id"] for found in loans.values() for terms in found],
            self.as_of,
            whole=self.filters.with_schedules,
        )
        flags = selectors.flags_as_of(ids, self.as_of)
        progress = selectors.indicator_progress(ids, self.as_of)
        launched = [p["id"] for p in projects if p["status"] == ProjectStatus.LAUNCHED]
        assessed = {item.project_id: item for item in assess_projects(self.as_of, launched)}
        plans = project_plans(launched, self.as_of, self.currency, grid=False) if launched else {}
        for p in projects:
            self.write_project(
                p,
                tranches.get(p["id"], []),
                disbursements.get(p["id"], []),
                loans.get(p["id"], []),
                flags.get(p["id"], []),
                progress.get(p["id"], []),
                assessed.get(p["id"]),
            )
            if p["id"] in plans:
                self.write_plan(p, plans[p["id"]])

    def write_plan(self, p, plan):
        """A line's cost and secured money per year; without a rate, its gaps alone."""
        for line in plan.lines:
            gaps = "; ".join(
                f"{g.start.isoformat()} to {g.end.isoformat()}" for g in line.coverage.gaps
            )
            row = {
                "portfolio": p["portfolio__name"],
                "project": p["code"],
                "line": line.label,
                "gaps": gaps or "none",
                "successor": line.successor or "nobody yet",
            }
            for year in line.years or [None]:
                self.sheets["sustainability"].append(
                    row
                    | {
                        "year": year.year if year else None,
                        "cost": year.cost if year else None,
                        "secured": year.secured if year else None,
                        "shortfall": year.shortfall if year else None,
                    }
                )

    # --- one project, to every sheet ------------------------------------------------------

    def write_project(self, p, tranches, disbursements, loans, flags, progress, assessed):
        sheets = self.sheets
        portfolio, code = p["portfolio__name"], p["code"]
        paid = defaultdict(list)
        for d in disbursements:
            paid[d["tranche_id"]].append((d["disbursed_on"], d["amount"]))
        money = Money()
        by_instrument = defaultdict(Money)
        by_id = {}
        for t in tranches:
            by_id[t["id"]] = t
            t["portfolio"], t["project"] = portfolio, code
            self.convert_tranche(t, paid[t["id"]])
            figures = t["figures"]
            if figures is not None:
                money.add(figures)
                by_instrument[t["instrument"]].add(figures)
                self.by_instrument[t["instrument"]].add(figures)
                self.by_purpose[t["purpose"]].add(figures)
                if (
                    t["instrument"] == Instrument.RESULTS_BASED
                    and t["status"] == TrancheStatus.COMMITTED
                ):
                    self.add_results_based(t, figures)
            sheets["tranches"].append(t)

        totals = [each for _, prog in progress for each in prog if each.category == results.TOTAL]
        p["country_name"] = self.country_name[p["country"]]
        p["sector"] = sector(p["sector_code"])
        p["status_label"] = self.status_label[p["status"]]
        p["grant"] = by_instrument[Instrument.GRANT].committed
        p["loan"] = by_instrument[Instrument.LOAN].committed
        p["results_based"] = by_instrument[Instrument.RESULTS_BASED].committed
        p["committed"] = money.committed
        p["disbursed"] = money.disbursed
        p["undisbursed"] = money.undisbursed
        p["pipeline"] = money.pipeline
        p["revaluation"] = money.revaluation
        p["secured_until"] = (
            coverage.secured_until(assessed.assessment, self.as_of)
            if assessed is not None
            else None
        )
        p["flags"] = ", ".join(self.flag_label[kind] for kind in flags)
        p["indicators"] = len(progress)
        p["on_track"] = sum(
            1 for each in totals if each.status in (results.ON_TRACK, results.ACHIEVED)
        )
        sheets["projects"].append(p)
        self.by_status[p["status"]] += 1
        self.open_flags.update(flags)

        for d in disbursements:
            t = by_id.get(d["tranche_id"])
            if t is None:
                continue
            self.write_disbursement(d, t)

        if assessed is not None:
            self.write_coverage(p, assessed.assessment)

        for indicator, prog in progress:
            for each in prog:
                sheets["results"].append(self.result_row(portfolio, code, indicator, each))

        for terms in loans:
            tranche = by_id.get(terms["tranche_id"])
            if tranche is not None:
                self.write_loan(tranche, terms)

    def loan_status_row(self, status, currency):
        """The Loans sheet's status columns: in the loan's currency, and what is outstanding
        and in arrears in the reporting currency at the as-of rate."""
        if status is None:
            return {}
        row = {
            "principal_disbursed": status.principal_disbursed,
            "principal_repaid": status.principal_repaid,
            "principal_outstanding": status.principal_outstanding,
            "interest_received": status.interest_received,
            "principal_in_arrears": status.principal_in_arrears,
            "interest_in_arrears": status.interest_in_arrears,
            "days_overdue": status.days_overdue,
        }
        try:
            row["outstanding_rc"] = self.rates.convert(
                status.principal_outstanding, currency, self.as_of
            ).amount
            row["arrears_rc"] = self.rates.convert(status.arrears, currency, self.as_of).amount
        except NoRateError:
            pass
        return row

    def convert_tranche(self, t, paid):
        try:
            figures = tranche_figures(self.rates, t, paid, self.as_of)
        except NoRateError:
            self.unconverted[t["currency"]] += 1
            figures = None
        if t["currency"] != self.currency and t["status"] != TrancheStatus.CANCELLED:
            self.as_of_currencies.add(t["currency"])
        t["figures"] = figures
        t["disbursed_own"] = sum((amount for _, amount in paid), ZERO)
        if figures is None:
            t["commitment_rate"] = t["commitment_rate_date"] = None
            t["committed_rc"] = t["disbursed_rc"] = t["undisbursed_rc"] = None
            t["pipeline_rc"] = t["revaluation_rc"] = None
            t["basis"] = NO_RATE if t["status"] != TrancheStatus.CANCELLED else ""
            return
        t["commitment_rate"] = figures.commitment_rate
        t["commitment_rate_date"] = figures.commitment_rate_date
        t["basis"] = figures.basis
        t["committed_rc"] = figures.committed
        t["disbursed_rc"] = figures.disbursed
        t["undisbursed_rc"] = figures.undisbursed
        t["pipeline_rc"] = figures.pipeline
        t["revaluation_rc"] = figures.revaluation

    def add_results_based(self, t, figures):
        """Committed results-based money: committed, earned so far (at the as-of rate), paid."""
        try:
            eligible = self.rates.convert(
                t["payout_terms__eligible_amount"] or ZERO, t["currency"], self.as_of
            ).amount
        except NoRateError:
            eligible = ZERO
        self.results_based[0] += figures.committed
        self.results_based[1] += eligible
        self.results_based[2] += figures.disbursed

    def write_disbursement(self, d, t):
        try:
            converted = self.rates.convert(d["amount"], t["currency"], d["disbursed_on"])
        except NoRateError:
            converted = None
        d["portfolio"], d["project"] = t["portfolio"], t["project"]
        d["funder"], d["tranche_reference"] = t["funder__name"], t["funder_reference"]
        d["instrument"], d["currency"] = t["instrument"], t["currency"]
        d["amount_rc"] = converted.amount if converted else None
        same = converted is not None and converted.rate_date is None
        d["rate"] = None if converted is None or same else converted.rate
        d["rate_date"] = None if converted is None else converted.rate_date
        self.sheets["disbursements"].append(d)

    def write_coverage(self, p, assessment):
        months = coverage.forecast(
            assessment.window,
            assessment.secured,
            assessment.pipeline,
            self.as_of,
            FORECAST_MONTHS,
        )
        row = {
            "portfolio": p["portfolio__name"],
            "project": p["code"],
            "launch_date": p["launch_date"],
            "window_start": assessment.window.start,
            "window_end": assessment.window.end,
            "secured_until": p["secured_until"],
            "gap_start": assessment.next_gap.start if assessment.next_gap else None,
            "days_to_lapse": assessment.days_to_lapse,
            "flags": ", ".join(self.flag_label[flag.kind] for flag in assessment.flags),
        }
        for offset, month in enumerate(months):
            row[("month", offset)] = month_state(month)
        self.sheets["coverage"].append(row)

    def write_standards(self, projects):
        """The "Standard indicators" sheet, from the projects the export covers."""
        standards = StandardIndicator.objects.select_related("portfolio").order_by(
            "portfolio__name", "code"
        )
        if self.filters.portfolio:
            standards = standards.filter(portfolio_id=self.filters.portfolio)
        sheet = self.sheets["standards"]
        for found in standard_results(standards, self.as_of, projects=projects):
            standard = found.standard
            common = {
                "portfolio": standard.portfolio.name,
                "code": standard.code,
                "title": standard.title,
                "unit": standard.unit,
                "measure": self.measure_label[standard.measure],
                "sdg": standard.sdg_indicator,
            }
            for _category, label, total, cells in found.rows():
                if total is not None:
                    sheet.append(
                        {**common, **_cell(total), "category": label, "project": "Portfolio total"}
                    )
                for name, cell in cells:
                    if cell is not None:
                        sheet.append({**common, **_cell(cell), "category": label, "project": name})

    def result_row(self, portfolio, code, indicator, each):
        return {
            "portfolio": portfolio,
            "project": code,
            "code": indicator["code"],
            "name": indicator["name"],
            "unit": indicator["unit"],
            "level": self.level_label[indicator["level"]],
            "category": self.category_label[each.category],
            "baseline_value": indicator["baseline_value"],
            "baseline_date": indicator["baseline_date"],
            "target": each.target.value if each.target else None,
            "target_due": each.target.due_on if each.target else None,
            "actual": each.actual,
            "measured_until": each.measured_until,
            "achievement": (
                each.achievement.quantize(Decimal("0.0001"))
                if each.achievement is not None
                else None
            ),
            "status": self.result_status_label[each.status],
        }

    def write_loan(self, tranche, terms):
        """One row for the loan on the Loans sheet; every instalment when schedules are asked."""
        try:
            instalments = schedules.repayment_schedule(
                principal=tranche["amount"],
                annual_rate_percent=terms["annual_rate_percent"],
                tenor_months=terms["tenor_months"],
                grace_months=terms["grace_months"],
                method=terms["method"],
                frequency_months=terms["frequency_months"],
                first_payment_date=terms["first_payment_date"],
            )
        except schedules.ScheduleError:
            self.bad_schedules += 1
            return
        due = [each for each in instalments if each.due_on <= self.as_of]
        upcoming = instalments[len(due)] if len(due) < len(instalments) else None
        balance = due[-1].closing_balance if due else tranche["amount"]
        if not due:
            state = "Not started"
        elif upcoming is None:
            state = "Ended"
        else:
            state = "Repaying"
        try:
            balance_rc = self.rates.convert(balance, tranche["currency"], self.as_of).amount
        except NoRateError:
            balance_rc = None
        figures = tranche["figures"]
        status = self.loan_statuses.get(tranche["id"])
        states = {line.due_on: line.state for line in status.lines} if status else {}
        base = {
            "portfolio": tranche["portfolio"],
            "project": tranche["project"],
            "funder": tranche["funder__name"],
            "reference": tranche["funder_reference"],
            "currency": tranche["currency"],
            "annual_rate_percent": terms["annual_rate_percent"],
        }
        self.sheets["loans"].append(
            {
                **base,
                "committed_on": tranche["committed_on"],
                "amount": tranche["amount"],
                "tenor_months": terms["tenor_months"],
                "grace_months": terms["grace_months"],
                "method": terms["method"].capitalize(),
                "frequency_months": terms["frequency_months"],
                "first_payment_date": terms["first_payment_date"],
                "last_payment_date": instalments[-1].due_on if instalments else None,
                "instalments": len(instalments),
                "schedule_status": state,
                "interest": sum((each.interest for each in instalments), ZERO),
                "balance": balance,
                "next_due_on": upcoming.due_on if upcoming else None,
                "next_payment": upcoming.payment if upcoming else None,
                "committed_rc": figures.committed if figures is not None else None,
                "balance_rc": balance_rc,
                **self.loan_status_row(status, tranche["currency"]),
            }
        )
        schedule = self.sheets.get("schedules")
        if schedule is not None:
            for each in instalments:
                schedule.append(
                    {
                        **base,
                        "number": each.number,
                        "due_on": each.due_on,
                        "opening_balance": each.opening_balance,
                        "interest": each.interest,
                        "principal": each.principal,
                        "payment": each.payment,
                        "closing_balance": each.closing_balance,
                        "state": STATE_LABEL.get(states.get(each.due_on), ""),
                    }
                )


def _cell(cell):
    return {
        "value": cell.value.quantize(Decimal("0.0001")),
        "numerator": cell.numerator,
        "denominator": cell.denominator,
        "projects": cell.projects,
        "measured_until": cell.measured_until,
    }
