"""Geometry of the coverage timeline: where each project's window, coverage and gaps fall on a
shared time axis, in percent of its width. Pure: the pages draw it as SVG and as a table."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from .coverage import Assessment, Interval

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Span:
    """An interval on the axis: left edge and width, in percent."""

    x: float
    width: float


@dataclass
class Row:
    project_id: int
    code: str
    title: str
    assessment: Assessment
    window: Span
    secured: list[Span] = field(default_factory=list)
    pipeline: list[Span] = field(default_factory=list)
    gaps: list[Span] = field(default_factory=list)

    @property
    def planned_covers_next_gap(self) -> bool:
        gap = self.assessment.next_gap
        return gap is not None and any(
            covered.start <= gap.start and gap.end <= covered.end
            for covered in self.assessment.pipeline
        )


@dataclass
class Timeline:
    start: date
    end: date
    today: date
    today_x: float
    ticks: list[tuple[float, date]]
    rows: list[Row]


def build(items, today: date) -> Timeline | None:
    """`items` are (project_id, code, title, Assessment); None when there is nothing to draw."""
    items = [item for item in items if item[3] is not None]
    if not items:
        return None
    first = min(min(a.window.start for *_, a in items), today)
    last = max(max(a.window.end for *_, a in items), today)
    # Whole months either side keep the edges readable.
    start = first.replace(day=1)
    end = (last.replace(day=1) + relativedelta(months=1)) - ONE_DAY
    total = (end - start).days + 1

    def x(day: date) -> float:
        return round((day - start).days / total * 100, 3)

    def span(interval: Interval) -> Span:
        return Span(x(interval.start), round(interval.days() / total * 100, 3))

    rows = [
        Row(
            project_id=project_id,
            code=code,
            title=title,
            assessment=a,
            window=span(a.window),
            secured=[span(each) for each in a.secured],
            pipeline=[span(each) for each in a.pipeline],
            gaps=[span(each) for each in a.gaps],
        )
        for project_id, code, title, a in items
    ]
    return Timeline(start, end, today, x(today), _ticks(start, end, x), rows)


def _ticks(start: date, end: date, x) -> list[tuple[float, date]]:
    """1 January of each year on the axis; every quarter when the axis is short."""
    step = 3 if (end - start).days < 550 else 12
    tick = date(start.year, 1, 1)
    ticks = []
    while tick <= end:
        if tick >= start:
            ticks.append((x(tick), tick))
        tick += relativedelta(months=step)
    return ticks
