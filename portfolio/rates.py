"""Currency conversion with the latest rate on or before a date (pure, no ORM)."""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class NoRateError(LookupError):
    """No exchange rate exists for the pair on or before the date."""

    def __init__(self, currency, to_currency, on):
        self.currency, self.to_currency, self.on = currency, to_currency, on
        super().__init__(
            _("No %(currency)s to %(to_currency)s exchange rate on or before %(on)s.")
            % {"currency": currency, "to_currency": to_currency, "on": on.isoformat()}
        )


@dataclass(frozen=True)
class Conversion:
    amount: Decimal
    currency: str
    rate: Decimal
    rate_date: date | None  # None when no conversion was needed


class RateTable:
    """Rates of several currencies into one currency, looked up by date in memory."""

    def __init__(self, to_currency, rows):
        self.to_currency = to_currency
        by_currency = defaultdict(list)
        for currency, valid_on, rate in rows:
            by_currency[currency].append((valid_on, Decimal(rate)))
        self._dates = {}
        self._rates = {}
        for currency, pairs in by_currency.items():
            pairs.sort()
            self._dates[currency] = [d for d, _ in pairs]
            self._rates[currency] = [r for _, r in pairs]

    def convert(self, amount, currency, on: date) -> Conversion:
        if currency == self.to_currency:
            return Conversion(Decimal(amount), currency, Decimal(1), None)
        dates = self._dates.get(currency, [])
        index = bisect_right(dates, on) - 1
        if index < 0:
            raise NoRateError(currency, self.to_currency, on)
        rate = self._rates[currency][index]
        converted = (Decimal(amount) * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        return Conversion(converted, self.to_currency, rate, dates[index])


@dataclass(frozen=True)
class TrancheInReportingCurrency:
    """One tranche's money in the reporting currency, converted as finance staff do.

    - `committed`: at the rate of the commitment date, or at the rate agreed in the tranche;
    - `disbursed`: each disbursement at the rate of its own date, so a payment made never moves;
    - `undisbursed`: what is still to pay, at the as-of rate;
    - `revaluation`: what the disbursed money would gain (or lose) at the as-of rate, shown
      apart and labelled, never mixed into the figures above.
    """

    committed: Decimal
    disbursed: Decimal
    undisbursed: Decimal
    revaluation: Decimal
    commitment_rate: Conversion


def convert_tranche(
    table: RateTable,
    *,
    amount: Decimal,
    currency: str,
    committed_on: date | None,
    as_of: date,
    disbursements=(),
    fixed_rate: Decimal | None = None,
) -> TrancheInReportingCurrency:
    """The tranche's figures as of `as_of`; `disbursements` are (date, amount) pairs, and only
    those on or before `as_of` count. Raises NoRateError when a needed rate is missing."""
    paid = [(on, Decimal(value)) for on, value in disbursements if on <= as_of]
    if fixed_rate is not None and currency != table.to_currency:
        rate = Decimal(fixed_rate)
        commitment = Conversion(
            (Decimal(amount) * rate).quantize(CENT, rounding=ROUND_HALF_UP),
            table.to_currency,
            rate,
            committed_on,
        )
    else:
        commitment = table.convert(amount, currency, committed_on or as_of)
    disbursed = sum((table.convert(value, currency, on).amount for on, value in paid), ZERO)
    paid_total = sum((value for _, value in paid), ZERO)
    undisbursed = table.convert(max(Decimal(amount) - paid_total, ZERO), currency, as_of).amount
    at_as_of = table.convert(paid_total, currency, as_of).amount
    return TrancheInReportingCurrency(
        committed=commitment.amount,
        disbursed=disbursed,
        undisbursed=undisbursed,
        revaluation=at_as_of - disbursed,
        commitment_rate=commitment,
    )
