"""The workbook's money: each tranche converted as finance does it, and running totals by kind.

Pure: no queries. Conversion is `portfolio.rates.convert_tranche`, the one rule: commitment at
its commitment date's rate (or the rate agreed in the tranche), each disbursement at its own
date, what is undisbursed or planned at the as-of rate, and the revaluation of what was paid
to the as-of rate kept apart. Every figure here belongs to one status, so no total mixes
committed with planned money.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from funding.models import TrancheStatus
from portfolio.rates import NoRateError, RateTable, convert_tranche

ZERO = Decimal("0.00")

# How a tranche's commitment was converted, in the sheet's words.
AT_COMMITMENT_DATE = "Rate of the commitment date"
AGREED = "Rate agreed in the tranche"
AT_AS_OF = "As-of rate (not committed)"
SAME_CURRENCY = "No conversion"


@dataclass(frozen=True)
class TrancheFigures:
    """One tranche in the reporting currency; None where the tranche's status has no such
    money (a planned tranche has no committed money, a committed one no pipeline)."""

    disbursed_own: Decimal  # in the tranche's currency, up to the as-of date
    commitment_rate: Decimal | None
    commitment_rate_date: date | None
    basis: str
    committed: Decimal | None
    disbursed: Decimal | None
    undisbursed: Decimal | None
    pipeline: Decimal | None
    revaluation: Decimal | None


def tranche_figures(
    table: RateTable, tranche: dict, disbursements: list, as_of: date
) -> TrancheFigures:
    """`tranche` has amount, currency, status, committed_on, fixed_rate; `disbursements` are
    (date, amount) pairs. Raises NoRateError when a rate it needs is missing."""
    paid = [(on, amount) for on, amount in disbursements if on <= as_of]
    disbursed_own = sum((amount for _, amount in paid), ZERO)
    status = tranche["status"]
    if status == TrancheStatus.CANCELLED:
        return TrancheFigures(disbursed_own, None, None, "", None, None, None, None, None)
    converted = convert_tranche(
        table,
        amount=tranche["amount"],
        currency=tranche["currency"],
        committed_on=tranche["committed_on"] if status == TrancheStatus.COMMITTED else None,
        as_of=as_of,
        disbursements=paid,
        fixed_rate=tranche["fixed_rate"] if status == TrancheStatus.COMMITTED else None,
    )
    rate = converted.commitment_rate
    same = tranche["currency"] == table.to_currency
    if status == TrancheStatus.COMMITTED:
        basis = SAME_CURRENCY if same else AGREED if tranche["fixed_rate"] else AT_COMMITMENT_DATE
        return TrancheFigures(
            disbursed_own,
            None if same else rate.rate,
            None if same else rate.rate_date,
            basis,
            converted.committed,
            converted.disbursed,
            converted.undisbursed,
            None,
            converted.revaluation,
        )
    # Planned: nothing signed, nothing paid; all of it at the as-of rate, as pipeline.
    return TrancheFigures(
        disbursed_own,
        None if same else rate.rate,
        None if same else rate.rate_date,
        SAME_CURRENCY if same else AT_AS_OF,
        None,
        None,
        None,
        converted.undisbursed,
        None,
    )


class Money:
    """Committed, disbursed, undisbursed, planned money and revaluation, in the reporting
    currency."""

    __slots__ = ("committed", "disbursed", "undisbursed", "pipeline", "revaluation")

    def __init__(self):
        self.committed = self.disbursed = self.undisbursed = ZERO
        self.pipeline = self.revaluation = ZERO

    def add(self, figures: TrancheFigures):
        # Written out, not a loop over the names: four totals take every tranche.
        if figures.committed is not None:
            self.committed += figures.committed
        if figures.disbursed is not None:
            self.disbursed += figures.disbursed
        if figures.undisbursed is not None:
            self.undisbursed += figures.undisbursed
        if figures.pipeline is not None:
            self.pipeline += figures.pipeline
        if figures.revaluation is not None:
            self.revaluation += figures.revaluation

    def row(self):
        return (self.committed, self.disbursed, self.undisbursed, self.pipeline, self.revaluation)


def as_of_rate(table: RateTable, currency: str, as_of: date):
    """(rate, rate date) of the as-of conversion; (1, None) in the reporting currency."""
    try:
        conversion = table.convert(Decimal(1), currency, as_of)
    except NoRateError:
        return None, None
    return conversion.rate, conversion.rate_date
