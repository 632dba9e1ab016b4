"""As of D the workbook is a snapshot: money committed or paid after D and rates after D do not
exist in it; a payment made stays at its own date's rate; the export reads one snapshot."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connections, transaction

from funding.models import Tranche
from reporting import exports
from reporting.models import ExportJob
from reporting.workbook import ExportFilters, export
from tests.factories import (
    DisbursementFactory,
    ExchangeRateFactory,
    PortfolioFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

from .workbook_helpers import calamine, records, total_rows
from .workbook_helpers import export as write

D = date(2026, 1, 1)


@pytest.fixture
def euro_grant(db):
    """A EUR grant committed in 2025 (EUR at 1.05), half paid in June 2025 (EUR at 1.08)."""
    ExchangeRateFactory(currency="EUR", rate=Decimal("1.05"), valid_on=date(2025, 1, 1))
    ExchangeRateFactory(currency="EUR", rate=Decimal("1.08"), valid_on=date(2025, 6, 1))
    project = ProjectFactory(portfolio=PortfolioFactory(), code="EU-01", launched=True)
    grant = TrancheFactory(
        project=project, currency="EUR", amount=Decimal("100000.00"),
        committed_on=date(2025, 3, 1), funder_reference="EUR-1",
    )  # fmt: skip
    DisbursementFactory(tranche=grant, amount=Decimal("50000.00"), disbursed_on=date(2025, 6, 15))
    Tranche.objects.filter(pk=grant.pk).update(disbursed_amount=Decimal("50000.00"))
    return grant


def tranche_row(out, reference):
    return next(r for r in records(calamine(out)["Tranches"]) if r["Reference"] == reference)


def test_money_after_the_as_of_date_does_not_exist(euro_grant):
    later = TrancheFactory(
        project=euro_grant.project, amount=Decimal("5000.00"), committed_on=date(2026, 2, 1),
        funder_reference="LATER",
    )  # fmt: skip
    DisbursementFactory(
        tranche=euro_grant, amount=Decimal("10000.00"), disbursed_on=date(2026, 2, 1)
    )
    Tranche.objects.filter(pk=euro_grant.pk).update(disbursed_amount=Decimal("60000.00"))
    ExchangeRateFactory(currency="EUR", rate=Decimal("2.00"), valid_on=date(2026, 1, 2))

    _, out = write(ExportFilters(as_of=D))
    sheets = calamine(out)
    assert [r["Reference"] for r in records(sheets["Tranches"])] == ["EUR-1"]
    assert len(records(sheets["Disbursements"])) == 1
    row = tranche_row(out, "EUR-1")
    assert row["Disbursed (tranche currency)"] == 50000
    assert row["Undisbursed (reporting currency, as-of rate)"] == pytest.approx(54000)  # not 2.00
    rates = {r[0]: r[1] for r in sheets["Cover"] if r}["As-of exchange rates"]
    assert "1 EUR = 1.08 USD on 2025-06-01" in rates
    assert "= 2 USD" not in rates

    _, out = write(ExportFilters(as_of=date(2026, 3, 1)))
    references = {r["Reference"] for r in records(calamine(out)["Tranches"])}
    assert references == {"EUR-1", later.funder_reference}


def test_a_payment_keeps_its_own_rate_and_the_revaluation_moves(euro_grant):
    _, before = write(ExportFilters(as_of=D))
    ExchangeRateFactory(currency="EUR", rate=Decimal("1.20"), valid_on=date(2026, 2, 1))
    _, after = write(ExportFilters(as_of=date(2026, 3, 1)))
    first, second = tranche_row(before, "EUR-1"), tranche_row(after, "EUR-1")
    paid = "Disbursed (reporting currency, at payment dates)"
    revaluation = "FX revaluation of disbursed (to as-of rate)"
    committed = "Committed (reporting currency)"
    assert first[paid] == second[paid] == 54000  # 50,000 EUR at 1.08, its own date's rate
    assert first[committed] == second[committed] == 105000  # at its commitment date's 1.05
    assert first[revaluation] == 0  # the as-of rate is still the payment's
    assert second[revaluation] == pytest.approx(60000 - 54000)  # 50,000 EUR now at 1.20
    assert second["Undisbursed (reporting currency, as-of rate)"] == pytest.approx(60000)
    disbursement = records(calamine(after)["Disbursements"])[0]
    assert disbursement["Rate"] == pytest.approx(1.08)
    assert disbursement["Rate date"] == date(2025, 6, 1)


@pytest.mark.django_db(transaction=True)
def test_the_export_reads_one_snapshot_while_writes_go_on(postgres, monkeypatch):
    """A disbursement committed by someone else half-way through the export is in none of
    its sheets: every chunk reads the state the export started from."""
    portfolio = PortfolioFactory()
    first = ProjectFactory(portfolio=portfolio, code="A-01", launched=True)
    second = ProjectFactory(portfolio=portfolio, code="B-01", launched=True)
    TrancheFactory(project=first, amount=Decimal("1000.00"))
    tranche = TrancheFactory(project=second, amount=Decimal("1000.00"), funder_reference="B")
    monkeypatch.setattr(export, "CHUNK", 1)  # one project at a time

    def write_meanwhile():
        # One transaction, as a real payment is: the row and the tranche's stored total
        # commit together, or PostgreSQL's deferred total check refuses the row alone.
        with transaction.atomic():
            DisbursementFactory(tranche=tranche, amount=Decimal("400.00"), disbursed_on=D)
        connections.close_all()

    real = export.PortfolioWorkbook.write_chunk
    calls = []

    def chunk_then_write(self, projects):
        real(self, projects)
        if not calls:  # after the first project: another connection commits a payment
            calls.append(projects)
            writer = threading.Thread(target=write_meanwhile)
            writer.start()
            writer.join()

    monkeypatch.setattr(export.PortfolioWorkbook, "write_chunk", chunk_then_write)
    _, out = write(ExportFilters(as_of=D))
    sheets = calamine(out)
    assert records(sheets["Disbursements"]) == []
    row = tranche_row(out, "B")
    assert row["Disbursed (tranche currency)"] == 0
    (total,) = total_rows(sheets["Projects"])
    assert total["Disbursed (payment-date rates)"] == 0
    assert tranche.disbursements.count() == 1  # it was written, after the snapshot began


@pytest.mark.django_db(transaction=True)
def test_a_worker_export_reads_its_snapshot_and_others_see_its_progress(
    postgres, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path
    TrancheFactory(project=ProjectFactory(launched=True))
    job = ExportJob.objects.create(
        requested_by=UserFactory(), filters=ExportFilters(as_of=D).to_json()
    )
    seen = []
    real = exports.write_workbook

    def watched(out, filters, progress):
        def report(percent):
            progress(percent)  # inside the export's read-only snapshot transaction
            if percent == 90:
                reader = threading.Thread(target=lambda: seen.append(read_progress(job.pk)))
                reader.start()
                reader.join()

        return real(out, filters, progress=report)

    monkeypatch.setattr(exports, "write_workbook", watched)
    exports.run_export(job.pk)
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == ("done", 100, "")
    assert seen == [90]  # another connection saw it while the export still ran


def read_progress(pk):
    try:
        return ExportJob.objects.get(pk=pk).progress
    finally:
        connections.close_all()
