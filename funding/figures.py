"""The headline money figures of a portfolio, added up from converted tranches (pure, no ORM).

Committed, disbursed and undisbursed money by instrument and by purpose, and leverage. Every
door (dashboard, API, workbook) shows these figures from here, so they agree to the cent.
Conversion is portfolio.rates.convert_tranche's: the commitment at its date (or the agreed
fixed rate), each disbursement at its own date, what is undisbursed at the as-of rate.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from portfolio.rates import NoRateError, RateTable, convert_tranche

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
GRANT, LOAN, RESULTS_BASED = "grant", "loan", "results_based"


def leverage(committed_by_instrument: Mapping[str, Decimal]) -> Decimal | None:
    """Loan and results-based money committed for each unit of grant committed, half-up to
    two places; None when no grant money is committed."""
    grant = committed_by_instrument.get(GRANT, ZERO)
    if not grant:
        return None
    other = committed_by_instrument.get(LOAN, ZERO) + committed_by_instrument.get(
        RESULTS_BASED, ZERO
    )
    return (other / grant).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TrancheMoney:
    """What the figures need of one committed tranche, in its own currency."""

    instrument: str
    purpose: str
    amount: Decimal
    currency: str
    committed_on: date
    fixed_rate: Decimal | None = None
    disbursements: tuple = ()  # (date, amount) pairs


@dataclass
class MoneyRow:
    key: str
    label: str
    committed: Decimal = ZERO
    disbursed: Decimal = ZERO
    undisbursed: Decimal = ZERO

    @property
    def share_disbursed(self) -> int:
        """Disbursed as a whole percent of committed, for a bar."""
        if not self.committed:
            return 0
        return int((self.disbursed / self.committed * 100).quantize(1, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class RateUsed:
    """One exchange rate a figure was converted at, and what for."""

    currency: str
    rate: Decimal
    rate_date: date | None  # None for an agreed fixed rate without a date
    used_for: str  # "commitment", "disbursement", "undisbursed" (the as-of rate)


@dataclass
class Figures:
    currency: str
    as_of: date
    by_instrument: list[MoneyRow]
    by_purpose: list[MoneyRow]
    missing_rates: set = field(default_factory=set)  # currencies left out: no rate
    rates: list[RateUsed] = field(default_factory=list)

    @property
    def committed(self) -> Decimal:
        return sum((row.committed for row in self.by_instrument), ZERO)

    @property
    def disbursed(self) -> Decimal:
        return sum((row.disbursed for row in self.by_instrument), ZERO)

    @property
    def undisbursed(self) -> Decimal:
        return sum((row.undisbursed for row in self.by_instrument), ZERO)

    @property
    def leverage(self) -> Decimal | None:
        return leverage({row.key: row.committed for row in self.by_instrument})

    @property
    def max_committed(self) -> Decimal:
        return max((row.committed for row in self.by_instrument + self.by_purpose), default=ZERO)

    def rates_for(self, used_for: str) -> list[RateUsed]:
        return [rate for rate in self.rates if rate.used_for == used_for]


def add_up(
    tranches: Iterable[TrancheMoney],
    table: RateTable,
    as_of: date,
    instruments: Iterable[tuple[str, str]],
    purposes: Iterable[tuple[str, str]],
) -> Figures:
    """The figures of `tranches` as of `as_of` in the table's currency; `instruments` and
    `purposes` are (key, label) pairs naming the rows. A tranche whose currency has no rate
    on a date it needs is left out, and its currency named in `missing_rates`."""
    by_instrument = {key: MoneyRow(key, label) for key, label in instruments}
    by_purpose = {key: MoneyRow(key, label) for key, label in purposes}
    figures = Figures(
        table.to_currency, as_of, list(by_instrument.values()), list(by_purpose.values())
    )
    used = set()
    for t in tranches:
        try:
            money = convert_tranche(
                table,
                amount=t.amount,
                currency=t.currency,
                committed_on=t.committed_on,
                as_of=as_of,
                disbursements=t.disbursements,
                fixed_rate=t.fixed_rate,
            )
        except NoRateError:
            figures.missing_rates.add(t.currency)
            continue
        for row in (by_instrument[t.instrument], by_purpose[t.purpose]):
            row.committed += money.committed
            row.disbursed += money.disbursed
            row.undisbursed += money.undisbursed
        if t.currency == table.to_currency:
            continue
        commitment = money.commitment_rate
        used.add(RateUsed(t.currency, commitment.rate, commitment.rate_date, "commitment"))
        for on, _amount in t.disbursements:
            if on <= as_of:
                paid = table.convert(Decimal(1), t.currency, on)
                used.add(RateUsed(t.currency, paid.rate, paid.rate_date, "disbursement"))
        now = table.convert(Decimal(1), t.currency, as_of)
        used.add(RateUsed(t.currency, now.rate, now.rate_date, "undisbursed"))
    order = {"undisbursed": 0, "commitment": 1, "disbursement": 2}
    figures.rates = sorted(
        used, key=lambda r: (r.currency, order[r.used_for], r.rate_date or as_of, r.rate)
    )
    return figures
