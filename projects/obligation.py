"""The obligation window's end: the last day a launched service must stay funded. Pure."""

import calendar
from datetime import date, timedelta


def obligation_end(launch_date: date, sustainability_months: int) -> date:
    """The day before the same day `sustainability_months` later (the month's last day when it
    has no such day): launched 31 January for one month, funded until 27 February."""
    if sustainability_months < 1:
        raise ValueError(f"sustainability_months must be at least 1, not {sustainability_months}")
    # Calendar arithmetic rather than relativedelta(months=n) - 1 day: the same answer at a
    # tenth of the cost (list pages and scans work it out for every row).
    years, month = divmod(launch_date.month - 1 + sustainability_months, 12)
    year, month = launch_date.year + years, month + 1
    day = min(launch_date.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)
