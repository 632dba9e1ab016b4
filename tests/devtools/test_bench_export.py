"""The export benchmark's raw floor writes the same cell values, bare, into a readable xlsx."""

from datetime import date, datetime

import pytest
from python_calamine import CalamineWorkbook

from devtools.management.commands.bench_export import raw_floor
from reporting.workbook import ExportFilters, write_workbook
from tests.reporting.workbook_helpers import build_portfolio

pytestmark = pytest.mark.django_db


def test_the_raw_floor_holds_the_exports_values_without_styles(tmp_path):
    build_portfolio()
    export, floor = tmp_path / "export.xlsx", tmp_path / "floor.xlsx"
    write_workbook(str(export), ExportFilters(as_of=date(2026, 3, 1)))
    seconds, _, cells = raw_floor(str(export), str(floor))
    assert seconds > 0
    written, bare = CalamineWorkbook.from_path(str(export)), CalamineWorkbook.from_path(str(floor))
    assert bare.sheet_names == written.sheet_names
    counted = 0
    for name in written.sheet_names:
        original = written.get_sheet_by_name(name).to_python()
        copy = bare.get_sheet_by_name(name).to_python()
        for row, row_copy in zip(original, copy, strict=False):
            for value, value_copy in zip(row, row_copy, strict=False):
                if value == "":
                    continue
                counted += 1
                if isinstance(value, datetime):  # a bare date is its serial number
                    since = value - datetime(1899, 12, 30)
                    assert value_copy == pytest.approx(since.total_seconds() / 86400)
                elif isinstance(value, date):
                    assert value_copy == (value - date(1899, 12, 30)).days
                else:
                    assert value_copy == value, (name, value)
    assert counted == cells
