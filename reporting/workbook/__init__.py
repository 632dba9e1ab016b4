"""The portfolio summary workbook for finance staff (XlsxWriter, constant memory).

- `filters`: what an export covers (and what its file is called);
- `selectors`: set-based reads as of a date, inside one database snapshot;
- `figures`: each tranche converted by the one rule, and totals by kind;
- `sheets`: the list sheets' columns; `summary`: the Summary, its charts, and the Cover;
- `export`: the writing, a chunk of projects at a time.
"""

from .export import PortfolioWorkbook, write_workbook
from .filters import ExportFilters
from .sheets import SCHEDULES_SHEET, SHEETS, TRANCHE_COLUMNS

__all__ = [
    "SCHEDULES_SHEET",
    "SHEETS",
    "TRANCHE_COLUMNS",
    "ExportFilters",
    "PortfolioWorkbook",
    "write_workbook",
]
