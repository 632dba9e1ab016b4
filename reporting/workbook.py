"""The portfolio summary workbook for finance staff, streamed with openpyxl in write-only mode.

Each list sheet declares its columns once (header, value, number format, width, whether it
gets a SUBTOTAL total). Projects are read a chunk at a time in set-based queries, and every
sheet takes the rows of that chunk before the next is read, so memory depends on the chunk
size, not on the size of the portfolio. Coverage and results come from the same pure
functions the lapse scan and the result pages use.

All amounts in the reporting currency are converted at the latest rate on or before the
as-of date, so every total on the Summary is the sum of the rows behind it.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_countries import countries
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.utils import get_column_letter

from evaluations import progress as results
from evaluations.models import CATEGORY_CHOICES, Indicator, Level, Measurement, Target
from funding import coverage, schedules
from funding.models import (
    Disbursement,
    FlagKind,
    Instrument,
    LapseFlag,
    LoanTerms,
    Purpose,
    Tranche,
    TrancheStatus,
)
from funding.selectors import assess_projects
from funding.tranche_import import TRANCHE_COLUMNS
from portfolio.models import ExchangeRate, NoRateError, Organisation, Portfolio
from portfolio.xlsx import (
    COUNT,
    DATE,
    DATETIME,
    MONEY,
    PERCENT,
    RATIO,
    REPORTING,
    Book,
    Column,
    Sheet,
    key,
)
from projects.models import Project
from projects.models import Status as ProjectStatus

CHUNK = 1000  # projects read, and written to every sheet, at a time
FORECAST_MONTHS = 24
STATE_FILLS = {
    "Secured": "C6EFCE",
    "Pipeline": "FFEB9C",
    "Gap": "FFC7CE",
    "": "D9D9D9",  # outside the obligation window
}

ZERO = Decimal("0.00")
ONE_DAY = timedelta(days=1)


# --- Filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFilters:
    """What to export. Ids rather than objects, so a job can store them as JSON."""

    portfolio: int | None = None
    funder: int | None = None
    country: str = ""
    instrument: str = ""
    as_of: date | None = None

    def __post_init__(self):
        if self.instrument and self.instrument not in Instrument.values:
            raise ValueError(f"{self.instrument!r} is not an instrument.")
        if self.country and self.country not in countries:
            raise ValueError(f"{self.country!r} is not an ISO 3166 country code.")

    def to_json(self) -> dict:
        return {
            "portfolio": self.portfolio,
            "funder": self.funder,
            "country": self.country,
            "instrument": self.instrument,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> "ExportFilters":
        as_of = data.get("as_of")
        return cls(
            portfolio=data.get("portfolio"),
            funder=data.get("funder"),
            country=data.get("country") or "",
            instrument=data.get("instrument") or "",
            as_of=date.fromisoformat(as_of) if as_of else None,
        )

    def tranche_filter(self) -> dict:
        """The funder and instrument filters select tranches (and the projects that have one)."""
        found = {}
        if self.funder:
            found["funder_id"] = self.funder
        if self.instrument:
            found["instrument"] = self.instrument
        return found

    def projects(self):
        queryset = Project.objects.all()
        if self.portfolio:
            queryset = queryset.filter(portfolio_id=self.portfolio)
        if self.country:
            queryset = queryset.filter(country=self.country)
        if self.tranche_filter():
            queryset = queryset.filter(
                Exists(Tranche.objects.filter(project=OuterRef("pk"), **self.tranche_filter()))
            )
        return queryset

    def reporting_currency(self) -> str:
        if self.portfolio:
            return Portfolio.objects.values_list("reporting_currency", flat=True).get(
                pk=self.portfolio
            )
        used = set(Portfolio.objects.values_list("reporting_currency", flat=True))
        return used.pop() if len(used) == 1 else "USD"

    def described(self) -> list[tuple[str, str]]:
        """The filters in words, for the Cover sheet."""

        def name(model, pk):
            return model.objects.filter(pk=pk).values_list("name", flat=True).first() or "?"

        return [
            ("Portfolio", name(Portfolio, self.portfolio) if self.portfolio else "All portfolios"),
            ("Funder", name(Organisation, self.funder) if self.funder else "All funders"),
            ("Country", countries.name(self.country) if self.country else "All countries"),
            (
                "Instrument",
                Instrument(self.instrument).label if self.instrument else "All instruments",
            ),
        ]


# --- Columns and sheets -------------------------------------------------------------------


# --- Column declarations ------------------------------------------------------------------


def _label(choices):
    labels = dict(choices)
    return lambda value: labels.get(value, value)


STATUS_LABEL = _label(ProjectStatus.choices)
LEVEL_LABEL = _label(Level.choices)
CATEGORY_LABEL = _label([(results.TOTAL, "Total"), *CATEGORY_CHOICES[1:]])
RESULT_STATUS_LABEL = _label(
    [
        (results.ACHIEVED, "Achieved"),
        (results.ON_TRACK, "On track"),
        (results.OFF_TRACK, "Off track"),
        (results.NO_DATA, "No data"),
    ]
)

PROJECT_COLUMNS = [
    Column("Portfolio", key("portfolio__name"), width=24),
    Column("Project", key("code"), width=14),
    Column("Title", key("title"), width=36),
    Column("Country", key("country_name"), width=16),
    Column("Sector", key("sector_code"), width=9),
    Column("Implementing partner", key("implementing_partner__name"), width=24),
    Column("Status", key("status_label"), width=13),
    Column("Launch date", key("launch_date"), DATE, width=12),
    Column("Grant committed", key("grant"), REPORTING, width=18, total=True),
    Column("Loan committed", key("loan"), REPORTING, width=18, total=True),
    Column("Results-based committed", key("results_based"), REPORTING, width=18, total=True),
    Column("Committed", key("committed"), REPORTING, width=18, total=True),
    Column("Disbursed", key("disbursed"), REPORTING, width=18, total=True),
    Column("Undisbursed", key("undisbursed"), REPORTING, width=18, total=True),
    Column("Pipeline (planned)", key("pipeline"), REPORTING, width=18, total=True),
    Column("Maintenance secured until", key("secured_until"), DATE, width=14),
    Column("Current flag", key("flags"), width=22),
    Column("Indicators", key("indicators"), COUNT, width=11, total=True),
    Column("Indicators on track", key("on_track"), COUNT, width=11, total=True),
]

DISBURSEMENT_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=24),
    Column("Project", key("project"), width=14),
    Column("Funder", key("funder"), width=24),
    Column("Tranche reference", key("tranche_reference"), width=16),
    Column("Instrument", key("instrument"), width=14),
    Column("Disbursed on", key("disbursed_on"), DATE, width=12),
    Column("Amount", key("amount"), MONEY, width=16),
    Column("Currency", key("currency"), width=9),
    Column("Reference", key("reference"), width=16),
    Column("Amount (reporting currency)", key("amount_rc"), REPORTING, width=19, total=True),
]

COVERAGE_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=24),
    Column("Project", key("project"), width=14),
    Column("Launch date", key("launch_date"), DATE, width=12),
    Column("Window start", key("window_start"), DATE, width=12),
    Column("Window end", key("window_end"), DATE, width=12),
    Column("Secured until", key("secured_until"), DATE, width=12),
    Column("Gap start", key("gap_start"), DATE, width=12),
    Column("Days to lapse", key("days_to_lapse"), COUNT, width=9),
    Column("Flag on as-of date", key("flags"), width=22),
]

RESULT_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=24),
    Column("Project", key("project"), width=14),
    Column("Indicator", key("code"), width=11),
    Column("Name", key("name"), width=34),
    Column("Unit", key("unit"), width=10),
    Column("Level", key("level"), width=9),
    Column("Category", key("category"), width=18),
    Column("Baseline", key("baseline_value"), "#,##0.####", width=11),
    Column("Baseline date", key("baseline_date"), DATE, width=12),
    Column("Target", key("target"), "#,##0.####", width=11),
    Column("Target due", key("target_due"), DATE, width=12),
    Column("Latest verified actual", key("actual"), "#,##0.####", width=12),
    Column("Measured until", key("measured_until"), DATE, width=12),
    Column("Achievement", key("achievement"), PERCENT, width=11),
    Column("Status", key("status"), width=10),
]

LOAN_COLUMNS = [
    Column("Portfolio", key("portfolio"), width=24),
    Column("Project", key("project"), width=14),
    Column("Funder", key("funder"), width=24),
    Column("Tranche reference", key("reference"), width=16),
    Column("Currency", key("currency"), width=9),
    Column("Rate %", key("annual_rate_percent"), "0.000", width=8),
    Column("No.", key("number"), COUNT, width=6),
    Column("Due on", key("due_on"), DATE, width=12),
    Column("Opening balance", key("opening_balance"), MONEY, width=16),
    Column("Interest", key("interest"), MONEY, width=14, total=True),
    Column("Principal", key("principal"), MONEY, width=14, total=True),
    Column("Payment", key("payment"), MONEY, width=14, total=True),
    Column("Closing balance", key("closing_balance"), MONEY, width=16),
]

SHEETS = [
    "Cover",
    "Summary",
    "Projects",
    "Tranches",
    "Disbursements",
    "Maintenance coverage",
    "Results",
    "Loan schedules",
]


def coverage_columns(first_month: date) -> list[Column]:
    """The fixed coverage columns, then one per forecast month headed by its real date."""
    first = first_month.replace(day=1)
    months = [
        Column(first + relativedelta(months=offset), key(("month", offset)), width=9)
        for offset in range(FORECAST_MONTHS)
    ]
    return [*COVERAGE_COLUMNS, *months]


# --- The export ---------------------------------------------------------------------------


def write_workbook(out, filters: ExportFilters, progress=None) -> int:
    """Write the summary workbook to `out` (a path or a binary file); return the rows written.

    `progress`, if given, is called with the percent done whenever it moves.
    """
    return PortfolioWorkbook(filters, progress).write(out)


def month_state(month: coverage.MonthCoverage) -> str:
    """How a forecast month looks: any uncovered day makes it a gap; blank outside the window."""
    if month.uncovered_days:
        return "Gap"
    if month.pipeline_only_days:
        return "Pipeline"
    if month.secured_days:
        return "Secured"
    return ""


def secured_until(assessment: coverage.Assessment, as_of: date) -> date | None:
    """The last day of secured maintenance from the as-of date on; None once it has lapsed."""
    gap = assessment.next_gap
    if gap is None:
        return assessment.secured[-1].end if assessment.secured else None
    if gap.start <= as_of or gap.start == assessment.window.start:
        return None
    return gap.start - ONE_DAY


class Money:
    """Committed, disbursed, undisbursed and planned money, in the reporting currency."""

    __slots__ = ("committed", "disbursed", "pipeline")

    def __init__(self):
        self.committed = self.disbursed = self.pipeline = ZERO

    def add(self, status, amount, disbursed):
        if status == TrancheStatus.COMMITTED:
            self.committed += amount
        elif status == TrancheStatus.PLANNED:
            self.pipeline += amount
        self.disbursed += disbursed

    @property
    def undisbursed(self):
        return self.committed - self.disbursed


class PortfolioWorkbook:
    """One export: reads the portfolio a chunk at a time and keeps the Summary's running totals."""

    def __init__(self, filters: ExportFilters, progress=None):
        self.filters = filters
        self.as_of = filters.as_of or timezone.localdate()
        self.currency = filters.reporting_currency()
        self.rates = ExchangeRate.table(self.currency)
        self.progress = progress
        self.percent = -1
        self.book = Book(self.currency)
        self.used_rates = {}  # currency -> (rate, rate date) used
        self.unconverted = Counter()  # currency without a rate -> amounts left out
        self.bad_schedules = 0
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
        wb = self.book.wb
        # Every sheet exists from the start, in its place; Cover and Summary are filled last.
        self.cover = wb.create_sheet("Cover")
        self.summary = wb.create_sheet("Summary")
        self.sheets = {
            "projects": Sheet(self.book, "Projects", PROJECT_COLUMNS),
            "tranches": Sheet(self.book, "Tranches", TRANCHE_COLUMNS),
            "disbursements": Sheet(self.book, "Disbursements", DISBURSEMENT_COLUMNS),
            "coverage": Sheet(self.book, "Maintenance coverage", coverage_columns(self.as_of)),
            "results": Sheet(self.book, "Results", RESULT_COLUMNS),
            "loans": Sheet(self.book, "Loan schedules", LOAN_COLUMNS),
        }
        projects = self.filters.projects()
        total = projects.count()
        done = 0
        rows = (
            projects.values(
                "id",
                "code",
                "title",
                "country",
                "sector_code",
                "status",
                "launch_date",
                "portfolio__name",
                "implementing_partner__name",
            )
            .order_by("portfolio__name", "code")
            .iterator(chunk_size=CHUNK)
        )
        while chunk := list(islice(rows, CHUNK)):
            self.write_chunk(chunk)
            done += len(chunk)
            self.report(90 * done // max(total, 1))
        for sheet in self.sheets.values():
            sheet.close()
        self.write_summary()
        self.write_cover()
        self.report(95)
        self.book.save(out)
        self.report(100)
        return sum(sheet.rows for sheet in self.sheets.values())

    # --- reading one chunk of projects, set-based --------------------------------------

    def convert(self, amount, currency):
        try:
            conversion = self.rates.convert(amount, currency, self.as_of)
        except NoRateError:
            self.unconverted[currency] += 1
            return None
        self.used_rates.setdefault(currency, (conversion.rate, conversion.rate_date))
        return conversion

    def write_chunk(self, projects):
        ids = [p["id"] for p in projects]
        tranche_filter = self.filters.tranche_filter()
        tranches = defaultdict(list)
        for t in (
            Tranche.objects.filter(project_id__in=ids, **tranche_filter)
            .values(
                "id",
                "project_id",
                "funder__name",
                "funder_reference",
                "instrument",
                "purpose",
                "status",
                "amount",
                "currency",
                "committed_on",
                "expected_disbursement_on",
                "covers_from",
                "covers_until",
                "notes",
                "disbursed_amount",
                "payout_terms__eligible_amount",
            )
            .order_by("project_id", "id")
        ):
            tranches[t["project_id"]].append(t)
        disbursements = defaultdict(list)
        for d in (
            Disbursement.objects.filter(
                tranche__project_id__in=ids,
                **{f"tranche__{name}": value for name, value in tranche_filter.items()},
            )
            .values("tranche_id", "tranche__project_id", "disbursed_on", "amount", "reference")
            .order_by("tranche__project_id", "disbursed_on", "id")
        ):
            disbursements[d["tranche__project_id"]].append(d)
        loans = defaultdict(list)
        if tranche_filter.get("instrument", Instrument.LOAN) == Instrument.LOAN:
            for terms in (
                LoanTerms.objects.filter(
                    tranche__project_id__in=ids,
                    tranche__status=TrancheStatus.COMMITTED,
                    **{f"tranche__{name}": value for name, value in tranche_filter.items()},
                )
                .values(
                    "tranche_id",
                    "tranche__project_id",
                    "annual_rate_percent",
                    "tenor_months",
                    "grace_months",
                    "method",
                    "frequency_months",
                    "first_payment_date",
                )
                .order_by("tranche__project_id", "tranche_id")
            ):
                loans[terms["tranche__project_id"]].append(terms)
        flags = self.flags_as_of(ids)
        progress = self.indicator_progress(ids)
        launched = [p["id"] for p in projects if p["status"] == ProjectStatus.LAUNCHED]
        assessed = {item.project_id: item for item in assess_projects(self.as_of, launched)}

        for p in projects:
            self.write_project(
                p,
                tranches[p["id"]],
                disbursements[p["id"]],
                loans[p["id"]],
                flags.get(p["id"], []),
                progress.get(p["id"], []),
                assessed.get(p["id"]),
            )

    def flags_as_of(self, ids):
        """Flags open at the end of the as-of day, as the scan recorded them, by project."""
        end = timezone.make_aware(datetime.combine(self.as_of + ONE_DAY, time.min))
        found = defaultdict(list)
        order = {kind: n for n, kind in enumerate(FlagKind.values)}
        for project_id, kind in (
            LapseFlag.objects.filter(project_id__in=ids, raised_at__lt=end)
            .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=end))
            .values_list("project_id", "kind")
        ):
            found[project_id].append(kind)
        return {pid: sorted(kinds, key=order.get) for pid, kinds in found.items()}

    def indicator_progress(self, ids):
        """project id -> [(indicator values, [Progress, ...])], from verified values only."""
        indicators = list(
            Indicator.objects.filter(project_id__in=ids)
            .values(
                "id",
                "project_id",
                "code",
                "name",
                "unit",
                "level",
                "measure",
                "direction",
                "aggregation",
                "baseline_value",
                "baseline_date",
            )
            .order_by("project_id", "code")
        )
        goals = defaultdict(list)
        for indicator_id, due_on, value, category in Target.objects.filter(
            indicator__project_id__in=ids
        ).values_list("indicator_id", "due_on", "value", "disaggregation"):
            goals[indicator_id].append(results.Goal(due_on, value, category))
        observations = defaultdict(list)
        for indicator_id, *values in (
            Measurement.objects.verified()
            .filter(indicator__project_id__in=ids)
            .values_list(
                "indicator_id",
                "period_start",
                "period_end",
                "value",
                "numerator",
                "denominator",
                "disaggregation",
            )
        ):
            observations[indicator_id].append(results.Observation(*values))
        found = defaultdict(list)
        for i in indicators:
            spec = results.IndicatorSpec(
                direction=i["direction"],
                aggregation=i["aggregation"],
                baseline_value=i["baseline_value"],
                baseline_date=i["baseline_date"],
                is_percentage=i["measure"] == Indicator.Measure.PERCENTAGE,
            )
            found[i["project_id"]].append(
                (
                    i,
                    results.indicator_progress(
                        spec, observations[i["id"]], goals[i["id"]], self.as_of
                    ),
                )
            )
        return found

    # --- writing one project to every sheet ---------------------------------------------

    def write_project(self, p, tranches, disbursements, loans, flags, progress, assessed):
        sheets = self.sheets
        portfolio, code = p["portfolio__name"], p["code"]
        money = Money()
        by_instrument = defaultdict(Money)
        by_id = {}
        for t in tranches:
            by_id[t["id"]] = t
            amount = self.convert(t["amount"], t["currency"])
            disbursed = self.convert(t["disbursed_amount"], t["currency"])
            t["portfolio"], t["project"] = portfolio, code
            if amount is None:
                t["rate"] = t["rate_date"] = t["amount_rc"] = t["disbursed_rc"] = None
            else:
                t["rate"], t["rate_date"] = amount.rate, amount.rate_date
                t["amount_rc"], t["disbursed_rc"] = amount.amount, disbursed.amount
                money.add(t["status"], amount.amount, disbursed.amount)
                by_instrument[t["instrument"]].add(t["status"], amount.amount, disbursed.amount)
                self.by_instrument[t["instrument"]].add(
                    t["status"], amount.amount, disbursed.amount
                )
                self.by_purpose[t["purpose"]].add(t["status"], amount.amount, disbursed.amount)
                if (
                    t["instrument"] == Instrument.RESULTS_BASED
                    and t["status"] == TrancheStatus.COMMITTED
                ):
                    eligible = self.convert(
                        t["payout_terms__eligible_amount"] or ZERO, t["currency"]
                    )
                    self.results_based[0] += amount.amount
                    self.results_based[1] += eligible.amount
                    self.results_based[2] += disbursed.amount
            sheets["tranches"].append(t)

        totals = [each for _, prog in progress for each in prog if each.category == results.TOTAL]
        p["country_name"] = countries.name(p["country"])
        p["status_label"] = STATUS_LABEL(p["status"])
        p["grant"] = by_instrument[Instrument.GRANT].committed
        p["loan"] = by_instrument[Instrument.LOAN].committed
        p["results_based"] = by_instrument[Instrument.RESULTS_BASED].committed
        p["committed"] = money.committed
        p["disbursed"] = money.disbursed
        p["undisbursed"] = money.undisbursed
        p["pipeline"] = money.pipeline
        p["secured_until"] = (
            secured_until(assessed.assessment, self.as_of) if assessed is not None else None
        )
        p["flags"] = ", ".join(str(FlagKind(kind).label) for kind in flags)
        p["indicators"] = len(progress)
        p["on_track"] = sum(
            1 for each in totals if each.status in (results.ON_TRACK, results.ACHIEVED)
        )
        sheets["projects"].append(p)
        self.by_status[p["status"]] += 1
        self.open_flags.update(flags)

        for d in disbursements:
            t = by_id[d["tranche_id"]]
            converted = self.convert(d["amount"], t["currency"])
            d["portfolio"], d["project"] = portfolio, code
            d["funder"], d["tranche_reference"] = t["funder__name"], t["funder_reference"]
            d["instrument"], d["currency"] = t["instrument"], t["currency"]
            d["amount_rc"] = converted.amount if converted else None
            sheets["disbursements"].append(d)

        if assessed is not None:
            self.write_coverage(p, assessed.assessment)

        for indicator, prog in progress:
            for each in prog:
                sheets["results"].append(
                    {
                        "portfolio": portfolio,
                        "project": code,
                        "code": indicator["code"],
                        "name": indicator["name"],
                        "unit": indicator["unit"],
                        "level": LEVEL_LABEL(indicator["level"]),
                        "category": CATEGORY_LABEL(each.category),
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
                        "status": RESULT_STATUS_LABEL(each.status),
                    }
                )

        for terms in loans:
            self.write_schedule(portfolio, code, by_id.get(terms["tranche_id"]), terms)

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
            "flags": ", ".join(str(FlagKind(flag.kind).label) for flag in assessment.flags),
        }
        sheet = self.sheets["coverage"]
        for offset, month in enumerate(months):
            state = month_state(month)
            style = self.book.style(sheet.ws, fill=STATE_FILLS[state])
            # A styled empty cell still shows its colour: grey for months outside the window.
            row[("month", offset)] = Cell(sheet.ws, 1, 1, value=state or None, style_array=style)
        sheet.append(row)

    def write_schedule(self, portfolio, code, tranche, terms):
        if tranche is None:
            return
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
        sheet = self.sheets["loans"]
        for each in instalments:
            sheet.append(
                {
                    "portfolio": portfolio,
                    "project": code,
                    "funder": tranche["funder__name"],
                    "reference": tranche["funder_reference"],
                    "currency": tranche["currency"],
                    "annual_rate_percent": terms["annual_rate_percent"],
                    "number": each.number,
                    "due_on": each.due_on,
                    "opening_balance": each.opening_balance,
                    "interest": each.interest,
                    "principal": each.principal,
                    "payment": each.payment,
                    "closing_balance": each.closing_balance,
                }
            )

    # --- Summary and Cover --------------------------------------------------------------

    def write_summary(self):
        ws, book = self.summary, self.book
        for letter, width in zip("ABCDEF", (34, 18, 18, 18, 18, 4), strict=True):
            ws.column_dimensions[letter].width = width
        title = book.style(ws, bold=True)
        header = book.style(ws, header=True)
        money = book.style(ws, REPORTING)
        total_money = book.style(ws, REPORTING, bold=True)
        count = book.style(ws, COUNT)
        total_count = book.style(ws, COUNT, bold=True)
        row = 0

        def put(*cells):
            nonlocal row
            ws.append(list(cells))
            row += 1
            return row

        def table(heading, headers, lines, style, total_style):
            """A small table with a SUBTOTAL row; returns (header row, last line row)."""
            top = put(
                book.text(ws, heading, header),
                *(book.text(ws, each, header) for each in headers),
            )
            for label, *values in lines:
                put(book.text(ws, label), *(book.cell(ws, v, style) for v in values))
            last = row
            if lines:
                put(
                    book.text(ws, "Total", title),
                    *(
                        book.formula(
                            ws,
                            f"=SUBTOTAL(109,{get_column_letter(n)}{top + 1}:{get_column_letter(n)}{last})",
                            total_style,
                        )
                        for n in range(2, len(headers) + 2)
                    ),
                )
            put()
            return top, last

        put(book.text(ws, "Portfolio summary", title))
        put(
            book.text(
                ws,
                f"Amounts in {self.currency}, converted at the latest rate on or before "
                f"{self.as_of:%d %B %Y}.",
            )
        )
        put()
        money_headers = ["Committed", "Disbursed", "Undisbursed", "Pipeline (planned)"]

        def money_lines(totals, choices):
            return [
                (label, m.committed, m.disbursed, m.undisbursed, m.pipeline)
                for value, label in choices
                for m in [totals.get(value, Money())]
            ]

        instruments = table(
            "By instrument",
            money_headers,
            money_lines(self.by_instrument, Instrument.choices),
            money,
            total_money,
        )
        purposes = table(
            "By purpose",
            money_headers,
            money_lines(self.by_purpose, [(v, v.capitalize()) for v in Purpose.values]),
            money,
            total_money,
        )
        statuses = table(
            "Projects by status",
            ["Projects"],
            [(label, self.by_status.get(value, 0)) for value, label in ProjectStatus.choices],
            count,
            total_count,
        )
        table(
            f"Open flags on {self.as_of:%d %b %Y}",
            ["Flags"],
            [(label, self.open_flags.get(value, 0)) for value, label in FlagKind.choices],
            count,
            total_count,
        )
        committed, eligible, paid = self.results_based
        put(
            *(
                book.text(ws, h, header)
                for h in ("Results-based payouts", "Committed", "Eligible (earned)", "Paid")
            )
        )
        put(
            book.text(ws, "Committed results-based tranches"),
            *(book.cell(ws, v, money) for v in (committed, eligible, paid)),
        )
        put()
        grant = self.by_instrument[Instrument.GRANT].committed
        ratio = book.style(ws, RATIO)
        put(
            book.text(ws, "Leverage (per unit of grant committed)", header),
            book.text(ws, "Ratio", header),
        )
        for value, label in (
            (Instrument.LOAN, "Loan money"),
            (Instrument.RESULTS_BASED, "Results-based money"),
        ):
            leverage = (
                (self.by_instrument[value].committed / grant).quantize(Decimal("0.01"))
                if grant
                else None
            )
            put(book.text(ws, label), book.cell(ws, leverage, ratio))

        bar = BarChart()
        bar.type = "col"
        bar.title = f"Committed and disbursed by instrument ({self.currency})"
        bar.y_axis.title = self.currency
        bar.y_axis.numFmt = "#,##0"
        top, last = instruments
        bar.add_data(
            Reference(ws, min_col=2, max_col=3, min_row=top, max_row=last), titles_from_data=True
        )
        bar.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=last))
        bar.width, bar.height = 18, 8
        ws.add_chart(bar, "G2")

        pie = PieChart()
        pie.title = "Committed by purpose"
        top, last = purposes
        pie.add_data(Reference(ws, min_col=2, min_row=top, max_row=last), titles_from_data=True)
        pie.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=last))
        pie.width, pie.height = 12, 8
        ws.add_chart(pie, "G19")

        status_bar = BarChart()
        status_bar.type = "bar"
        status_bar.title = "Projects by status"
        status_bar.legend = None
        top, last = statuses
        status_bar.add_data(
            Reference(ws, min_col=2, min_row=top, max_row=last), titles_from_data=True
        )
        status_bar.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=last))
        status_bar.width, status_bar.height = 12, 8
        ws.add_chart(status_bar, "G36")

    def write_cover(self):
        ws, book = self.cover, self.book
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 90
        bold = book.style(ws, bold=True)
        dated = book.style(ws, DATE)
        stamped = book.style(ws, DATETIME)
        generated = timezone.localtime().replace(tzinfo=None, microsecond=0)

        def line(label, value, style=None):
            ws.append([book.text(ws, label, bold), book.cell(ws, value, style)])

        ws.append([book.text(ws, "Portfolio summary workbook", book.style(ws, bold=True))])
        ws.append([])
        for label, value in self.filters.described():
            line(label, value)
        line("As-of date", self.as_of, dated)
        line("Reporting currency", self.currency)
        line("Exchange rates", self.rate_source())
        line(f"Generated ({settings.TIME_ZONE})", generated, stamped)
        line("Rows", sum(sheet.rows for sheet in self.sheets.values()), book.style(ws, COUNT))
        ws.append([])
        line("Sheets", ", ".join(SHEETS[1:]))
        line(
            "Maintenance coverage",
            "Launched projects only. Months: Secured (green), Pipeline – planned money only "
            "(amber), Gap – not covered (red), grey outside the obligation window.",
        )
        line("Loan schedules", "Committed (signed) loan tranches with loan terms.")
        line(
            "Funder and instrument filters",
            "Select the tranches shown and the projects that have one; coverage is always the "
            "whole project's.",
        )
        for warning in self.warnings():
            line("Warning", warning)

    def rate_source(self) -> str:
        if not self.used_rates:
            return f"No conversion needed: every amount is in {self.currency}."
        sources = {
            (currency, valid_on): source
            for currency, valid_on, source in ExchangeRate.objects.filter(
                to_currency=self.currency, currency__in=list(self.used_rates)
            ).values_list("currency", "valid_on", "source")
        }
        parts = []
        for currency, (rate, rate_date) in sorted(self.used_rates.items()):
            if rate_date is None:
                continue
            source = sources.get((currency, rate_date)) or "source not recorded"
            parts.append(
                f"1 {currency} = {rate.normalize():f} {self.currency} on {rate_date} ({source})"
            )
        rule = "Latest rate on or before the as-of date"
        return (
            f"{rule}: " + "; ".join(parts)
            if parts
            else f"{rule}; every amount is in {self.currency}."
        )

    def warnings(self):
        for currency, count in sorted(self.unconverted.items()):
            yield (
                f"{count:,} amounts in {currency} have no {currency} to {self.currency} rate on or "
                f"before {self.as_of}; they are left out of the converted totals."
            )
        if self.bad_schedules:
            yield f"{self.bad_schedules:,} loan tranches have terms that give no repayment schedule."
