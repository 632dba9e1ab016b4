"""Repayment schedules for concessional loan tranches (annuity or linear, with grace)."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from functools import lru_cache

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
    # Always offset from the first date so month-end dates never drift.
    dues = _due_dates(first_payment_date, frequency, periods)

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
                    due_on=dues[index],
                    opening_balance=balance,
                    interest=interest,
                    principal=repaid,
                    payment=interest + repaid,
                    closing_balance=closing,
                )
            )
            balance = closing
    return schedule


def _periods_of(terms) -> tuple[int, int, int]:
    """(periods, grace periods, months a period) of `terms`, checked as repayment_schedule
    checks them (on a nominal principal: the money comes with the disbursements)."""
    _, _, tenor, grace, frequency = _validate(
        Decimal("1.00"),
        terms.annual_rate_percent,
        terms.tenor_months,
        terms.grace_months,
        terms.method,
        terms.frequency_months,
    )
    return tenor // frequency, grace // frequency, frequency


@lru_cache(maxsize=4096)
def _due_dates(first: date, frequency: int, periods: int) -> tuple[date, ...]:
    """The due dates of `periods` instalments from `first` (with 0, the start of the first
    period alone). Cached: a portfolio's loans share a few sets of terms, and date arithmetic
    is most of the cost of a schedule when thousands of loans are judged at once."""
    try:
        if periods == 0:
            return (first - relativedelta(months=frequency),)
        return tuple(first + relativedelta(months=index * frequency) for index in range(periods))
    except (ValueError, OverflowError) as error:
        raise ScheduleError("the last payment would fall after the year 9999") from error


def disbursed_schedule(terms, disbursements, until: date | None = None) -> list[Instalment]:
    """The repayment schedule of what has actually been disbursed.

    `terms` has the attributes of `LoanTerms.TERM_FIELDS` (a LoanTerms row, or any object
    with them); `disbursements` are (date, amount) pairs. No disbursement, no schedule.

    - Each instalment is due `frequency_months` after the one before, from
      `first_payment_date`; its period starts one frequency before its due date.
    - Interest accrues on each disbursement from its own date: money already out at the
      period's start accrues the whole period (rate x months / 1200, as repayment_schedule);
      money disbursed during a period accrues for the share of the period's days from its
      date to the due date. Money disbursed before the first period accrues from its date,
      so its first share is above one. A disbursement dated on a due date accrues from the
      next period on.
    - Instalments inside the grace period repay no principal.
    - Then the principal out at each due date is repaid over the instalments left: annuity
      (a level payment, worked out again when new money arrives) or linear (equal parts,
      likewise). The last instalment repays whatever is left, absorbing the rounding, and
      any money disbursed on or after its date.

    A loan fully disbursed before its first period gives the same schedule as
    `repayment_schedule` on that amount. With `until`, only the instalments due by then are
    worked out (what arrears need: the lapse scan judges every loan).
    """
    money = sorted(
        (on, _cents(_decimal_term("disbursement", amount))) for on, amount in disbursements
    )
    money = [(on, amount) for on, amount in money if amount > 0]
    if not money:
        return []
    periods, grace_periods, frequency = _periods_of(terms)
    first = terms.first_payment_date
    if not isinstance(first, date):
        raise ScheduleError(f"first_payment_date must be a date, got {type(first).__name__}")
    dues = _due_dates(first, frequency, periods)
    starts = (_due_dates(first, frequency, 0)[0], *dues[:-1])
    rate = _decimal_term("annual_rate_percent", terms.annual_rate_percent)

    schedule = []
    balance = ZERO
    pending = list(money)
    level = None  # the annuity payment or linear part, worked out again when money arrives
    with localcontext(Context(prec=PRECISION)):
        periodic_rate = rate * frequency / 1200
        for index in range(periods):
            due_on, start = dues[index], starts[index]
            if until is not None and due_on > until:
                break
            last = index == periods - 1
            nominal_days = (due_on - start).days
            # What accrues this period, as amount x days; money out before accrues it all.
            accrual = balance * nominal_days
            arrived = ZERO
            while pending and (pending[0][0] < due_on or last):
                on, amount = pending.pop(0)
                accrual += amount * max((due_on - on).days, 0)
                arrived += amount
            balance += arrived
            # Division last, so an exact half cent rounds half up as a hand calculation does.
            interest = _cents(accrual * rate * frequency / (1200 * nominal_days))
            remaining_periods = periods - index
            if index < grace_periods:
                repaid = ZERO
            elif last:
                repaid = balance
            else:
                if level is None or arrived:
                    if terms.method == ANNUITY:
                        level = _annuity_payment(balance, periodic_rate, remaining_periods)
                    else:
                        level = _cents(balance / remaining_periods)
                # Interest above the level payment (money that accrued for longer than one
                # period) repays no principal that instalment, and never a negative amount.
                repaid = level - interest if terms.method == ANNUITY else level
                repaid = max(min(repaid, balance), ZERO)
            schedule.append(
                Instalment(
                    number=index + 1,
                    due_on=due_on,
                    opening_balance=balance,
                    interest=interest,
                    principal=repaid,
                    payment=interest + repaid,
                    closing_balance=balance - repaid,
                )
            )
            balance -= repaid
    return schedule
