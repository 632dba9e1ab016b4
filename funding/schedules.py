"""Repayment schedules for concessional loan tranches (annuity or linear, with grace)."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from dateutil.relativedelta import relativedelta

ANNUITY = "annuity"
LINEAR = "linear"
METHODS = (ANNUITY, LINEAR)
FREQUENCIES = (1, 3, 6, 12)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# 28 significant digits keeps cent-exact results for any realistic principal.
PRECISION = 28


class ScheduleError(ValueError):
    """A loan term that cannot produce a repayment schedule."""


@dataclass(frozen=True)
class Instalment:
    number: int
    due_on: date
    opening_balance: Decimal
    interest: Decimal
    principal: Decimal
    payment: Decimal
    closing_balance: Decimal


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal_term(name: str, value) -> Decimal:
    # Floats cannot represent most cent amounts exactly, so they are refused rather than guessed.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ScheduleError(f"{name} must be a Decimal, got {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ScheduleError(f"{name} must be a finite number, got {value}")
    return value


def _int_term(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScheduleError(f"{name} must be an integer, got {type(value).__name__}")
    return value


def _validate(principal, annual_rate_percent, tenor_months, grace_months, method, frequency_months):
    principal = _decimal_term("principal", principal)
    rate = _decimal_term("annual_rate_percent", annual_rate_percent)
    tenor = _int_term("tenor_months", tenor_months)
    grace = _int_term("grace_months", grace_months)
    frequency = _int_term("frequency_months", frequency_months)

    if principal <= 0:
        raise ScheduleError(f"principal must be greater than 0, got {principal}")
    # A sub-cent principal could never be repaid to exactly 0.00.
    if principal != principal.quantize(CENT):
        raise ScheduleError(f"principal must have at most 2 decimal places, got {principal}")
    if not 0 <= rate <= 100:
        raise ScheduleError(f"annual_rate_percent must be between 0 and 100, got {rate}")
    if method not in METHODS:
        raise ScheduleError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if frequency not in FREQUENCIES:
        allowed = ", ".join(str(f) for f in FREQUENCIES)
        raise ScheduleError(f"frequency_months must be one of {allowed}, got {frequency}")
    if tenor <= 0:
        raise ScheduleError(f"tenor_months must be greater than 0, got {tenor}")
    if tenor % frequency:
        raise ScheduleError(
            f"tenor_months must be a multiple of frequency_months ({frequency}), got {tenor}"
        )
    if not 0 <= grace < tenor:
        raise ScheduleError(
            f"grace_months must be at least 0 and less than tenor_months ({tenor}), got {grace}"
        )
    if grace % frequency:
        raise ScheduleError(
            f"grace_months must be a multiple of frequency_months ({frequency}), got {grace}"
        )
    return _cents(principal), rate, tenor, grace, frequency


def _annuity_payment(balance: Decimal, rate: Decimal, periods: int) -> Decimal:
    if rate == 0:
        return _cents(balance / periods)
    return _cents(balance * rate / (1 - (1 + rate) ** -periods))


def repayment_schedule(
    principal: Decimal,
    annual_rate_percent: Decimal,
    tenor_months: int,
    grace_months: int,
    method: str,
    frequency_months: int,
    first_payment_date: date,
) -> list[Instalment]:
    principal, rate, tenor, grace, frequency = _validate(
        principal, annual_rate_percent, tenor_months, grace_months, method, frequency_months
    )
    if not isinstance(first_payment_date, date):
        raise ScheduleError(
            f"first_payment_date must be a date, got {type(first_payment_date).__name__}"
        )

    periods = tenor // frequency
    grace_periods = grace // frequency
    amortising_periods = periods - grace_periods
    try:
        first_payment_date + relativedelta(months=(periods - 1) * frequency)
    except (ValueError, OverflowError) as error:
        raise ScheduleError("the last payment would fall after the year 9999") from error

    with localcontext(Context(prec=PRECISION)):
        # Interest uses rate * frequency / 1200 with the division last, so an exact half cent
        # is seen as one and ROUND_HALF_UP rounds it the way a hand calculation would.
        interest_numerator = rate * frequency
        periodic_rate = interest_numerator / 1200
        if method == ANNUITY:
            level_payment = _annuity_payment(principal, periodic_rate, amortising_periods)
        else:
            principal_part = _cents(principal / amortising_periods)

        schedule = []
        balance = principal
        for index in range(periods):
            interest = _cents(balance * interest_numerator / 1200)
            if index < grace_periods:
                repaid = ZERO
            elif index == periods - 1:
                repaid = balance
            elif method == ANNUITY:
                repaid = level_payment - interest
            else:
                repaid = principal_part
            # Rounding each part up can exhaust a tiny principal before the last period;
            # the balance must never go negative, so later parts shrink to what is left.
            repaid = min(repaid, balance)
            closing = balance - repaid
            schedule.append(
                Instalment(
                    number=index + 1,
                    # Always offset from the first date so month-end dates never drift.
                    due_on=first_payment_date + relativedelta(months=index * frequency),
                    opening_balance=balance,
                    interest=interest,
                    principal=repaid,
                    payment=interest + repaid,
                    closing_balance=closing,
                )
            )
            balance = closing
    return schedule
