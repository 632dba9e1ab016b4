"""Currency conversion with the latest rate on or before a date (pure, no ORM)."""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


class NoRateError(LookupError):
    """No exchange rate exists for the pair on or before the date."""

    def __init__(self, currency, to_currency, on):
        self.currency, self.to_currency, self.on = currency, to_currency, on
        super().__init__(
            f"No {currency} to {to_currency} exchange rate on or before {on.isoformat()}."
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
