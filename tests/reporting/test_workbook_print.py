"""The workbook as a finance committee prints it: LibreOffice (headless) converts it to PDF and
the pages are counted and read. Skips without LibreOffice, unless REQUIRE_SERVICES says the
tests need it (CI), where it fails instead. A PNG of the printed Summary is kept in
var/screenshots/ for anyone to look at."""

import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from funding.models import Tranche
from projects.models import Project
from reporting.workbook import SHEETS, ExportFilters, write_workbook
from tests.factories import FunderFactory

from .workbook_helpers import AS_OF, add_scope_traps, build_portfolio

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
FOOTER = re.compile(r"Portfolio summary: .*? – (?P<sheet>.+?)\s{2,}.*As of (?P<as_of>.+?)\s{2,}")
PAGE = re.compile(r"Page (\d+) of (\d+)")


def tool(name, package):
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (apt-get install {package})"
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"{message}, and REQUIRE_SERVICES=1 says the tests need it")
        pytest.skip(message)
    return found


CONVERTED = {}  # LibreOffice takes seconds: the tests of this module share one conversion


@pytest.fixture
def printed(db, tmp_path_factory):
    """The workbook of a small portfolio with a long Tranches sheet, as LibreOffice prints it:
    {sheet: [page text, ...]}, the PDF's path, its page sizes and pages."""
    if not CONVERTED:
        CONVERTED["printed"] = print_workbook(tmp_path_factory.mktemp("printed"))
    return CONVERTED["printed"]


def print_workbook(tmp_path):
    soffice = tool("soffice", "libreoffice-calc-nogui")
    pdftotext = tool("pdftotext", "poppler-utils")
    workbook = tmp_path / "workbook.xlsx"
    portfolio = build_portfolio()
    add_scope_traps(portfolio)
    project = Project.objects.get(code="SN-PAY-01")
    funder = FunderFactory(name="Many Tranches Fund")
    Tranche.objects.bulk_create(
        Tranche(
            project=project, funder=funder, instrument="grant", purpose="capacity",
            amount=Decimal(1000 + n), currency="USD", status="committed",
            committed_on=date(2025, 1, 1), funder_reference=f"MANY-{n}",
        )
        for n in range(180)
    )  # fmt: skip
    write_workbook(str(workbook), ExportFilters(portfolio=portfolio.pk, as_of=AS_OF))
    convert_to_pdf(soffice, workbook, tmp_path)
    pdf = tmp_path / "workbook.pdf"
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")[:-1]
    by_sheet = {}
    for page in pages:
        footer = FOOTER.search(page)
        assert footer, page[-400:]
        by_sheet.setdefault(footer["sheet"].strip(), []).append(page)
    sizes = re.findall(
        r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts",
        subprocess.run(
            ["pdfinfo", "-f", "1", "-l", str(len(pages)), str(pdf)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout,
    )
    return by_sheet, pdf, [(float(w), float(h)) for w, h in sizes], pages


def convert_to_pdf(soffice, workbook, tmp_path):
    """LibreOffice's conversion, tried once more with a new profile if LibreOffice itself
    crashed (seen once, SIGABRT, on its first start after installing, on a busy machine): a
    crash says nothing of the workbook, while a refusal of the file is an answer."""
    for attempt in (1, 2):
        done = subprocess.run(
            [
                soffice, "--headless", "--norestore",
                f"-env:UserInstallation=file://{tmp_path}/profile-{attempt}",
                "--convert-to", "pdf", "--outdir", str(tmp_path), str(workbook),
            ],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        if 0 <= done.returncode < 128:  # converted, or refused the file: not a crash
            break
    assert done.returncode == 0, f"soffice exited {done.returncode}: {done.stderr[-2000:]}"


def test_every_sheet_prints_with_its_footer(printed):
    by_sheet, _, _, pages = printed
    assert list(by_sheet) == SHEETS
    for number, page in enumerate(pages, 1):
        footer = FOOTER.search(page)
        assert footer["as_of"].strip() == "1 March 2026"
        assert PAGE.search(page).groups() == (str(number), str(len(pages)))
        assert "Digital Services Fund" in page


def test_the_cover_is_one_page_and_the_summary_two_with_no_chart_cut(printed):
    by_sheet, pdf, _, pages = printed
    assert len(by_sheet["Cover"]) == 1
    summary = by_sheet["Summary"]
    assert len(summary) <= 2
    titles = [
        "Committed and disbursed by instrument (USD)",
        "Committed by purpose",
        "Projects by status",
    ]
    # Each chart whole on one page: its title there, and the charts' page holds all of them.
    chart_page = next(page for page in summary if titles[0] in page)
    assert all(title in chart_page for title in titles)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    first = pages.index(summary[0]) + 1
    for n in range(len(summary)):
        stem = SCREENSHOTS / f"workbook-summary-{n + 1}"
        subprocess.run(
            [
                tool("pdftoppm", "poppler-utils"), "-png", "-r", "80", "-singlefile",
                "-f", str(first + n), "-l", str(first + n), str(pdf), str(stem),
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        assert stem.with_suffix(".png").stat().st_size > 10_000


def test_wide_sheets_print_landscape_one_page_wide_with_their_header_on_every_page(printed):
    by_sheet, _, sizes, pages = printed
    size = {}
    for page, (width, height) in zip(pages, sizes, strict=True):
        size.setdefault(FOOTER.search(page)["sheet"].strip(), (width, height))
    assert size["Cover"][0] < size["Cover"][1]  # portrait
    for name in ("Projects", "Tranches", "Maintenance coverage", "Loans"):
        assert size[name][0] > size[name][1], name  # landscape
    tranches = by_sheet["Tranches"]
    assert len(tranches) >= 2  # long enough to run onto a second page
    for page in tranches:
        assert "Portfolio" in page and "Reference" in page  # the header row, repeated
    # One page wide: the last column is on the same page as the first.
    assert all("FX revaluation" in page for page in tranches)
