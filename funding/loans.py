"""A loan as its lender sees it on a date: what was disbursed and repaid, what is outstanding,
what fell due and is unpaid (arrears), and each instalment's state.

Pure computation on plain data: the selectors read the rows, this judges them.

- The schedule is the schedule of what was disbursed by the date (`disbursed_schedule`).
- Money received is allocated to the instalments oldest first, principal against principal
  and interest against interest; what is received beyond what fell due pays instalments
  still to come.
- An instalment is in arrears once the day after its due date has begun: due today is due,
  not overdue. Days overdue count from the due date.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from . import schedules

ZERO = Decimal("0.00")

PAID = "paid"
OVERDUE = "overdue"
DUE = "due"  # due today, not yet paid
UPCOMING = "upcoming"


@dataclass(frozen=True)
class Received:
    """One repayment: the date received, its principal part and its interest part."""

    received_on: date
    principal: Decimal
    interest: Decimal


@dataclass(slots=True)  # not frozen: 10,000 loans make 200,000 of these, and frozen costs 3x
class Line:
    """One instalment of the schedule beside what has been paid of it."""

    instalment: schedules.Instalment
    principal_paid: Decimal
    interest_paid: Decimal
    state: str  # PAID, OVERDUE, DUE or UPCOMING

    @property
    def principal_unpaid(self) -> Decimal:
        return self.instalment.principal - self.principal_paid

    @property
    def interest_unpaid(self) -> Decimal:
        return self.instalment.interest - self.interest_paid

    @property
    def due_on(self) -> date:
        return self.instalment.due_on


@dataclass(frozen=True)
class LoanStatus:
    as_of: date
    principal_disbursed: Decimal
    principal_repaid: Decimal
    principal_outstanding: Decimal
    interest_due: Decimal  # the interest of every instalment due on or before as_of
    interest_received: Decimal
    principal_in_arrears: Decimal
    interest_in_arrears: Decimal
    days_overdue: int  # of the oldest instalment in arrears; 0 when none
    first_overdue_on: date | None  # the due date of the oldest instalment in arrears
    lines: tuple[Line, ...]

    @property
    def in_arrears(self) -> bool:
        return self.principal_in_arrears + self.interest_in_arrears > 0

    @property
    def arrears(self) -> Decimal:
        return self.principal_in_arrears + self.interest_in_arrears

    @property
    def overdue_lines(self) -> list[Line]:
        return [line for line in self.lines if line.state == OVERDUE]


def _allocate(total: Decimal, parts: list[Decimal]) -> list[Decimal]:
    """`total` spread over `parts` in order, each filled before the next."""
    paid = []
    for part in parts:
        taken = min(part, max(total, ZERO))
        paid.append(taken)
        total -= taken
    return paid


def loan_status(terms, disbursements, repayments, as_of: date, whole=True) -> LoanStatus:
    """The loan on `as_of`: `disbursements` are (date, amount) pairs, `repayments` are
    `Received`; whatever is dated after `as_of` does not exist yet. With `whole` False the
    lines stop at `as_of` (the figures are the same; instalments still to come are left out
    and a prepayment beyond them is not shown on a line)."""
    disbursed = [(on, amount) for on, amount in disbursements if on <= as_of]
    received = [r for r in repayments if r.received_on <= as_of]
    principal_disbursed = sum((amount for _, amount in disbursed), ZERO)
    principal_repaid = sum((r.principal for r in received), ZERO)
    interest_received = sum((r.interest for r in received), ZERO)
    schedule = schedules.disbursed_schedule(terms, disbursed, None if whole else as_of)

    principal_paid = _allocate(principal_repaid, [i.principal for i in schedule])
    interest_paid = _allocate(interest_received, [i.interest for i in schedule])
    lines = []
    for instalment, principal, interest in zip(
        schedule, principal_paid, interest_paid, strict=True
    ):
        if principal >= instalment.principal and interest >= instalment.interest:
            state = PAID
        elif instalment.due_on < as_of:
            state = OVERDUE
        elif instalment.due_on == as_of:
            state = DUE
        else:
            state = UPCOMING
        lines.append(Line(instalment, principal, interest, state))
    overdue = [line for line in lines if line.state == OVERDUE]
    first_overdue_on = overdue[0].due_on if overdue else None
    return LoanStatus(
        as_of=as_of,
        principal_disbursed=principal_disbursed,
        principal_repaid=principal_repaid,
        principal_outstanding=principal_disbursed - principal_repaid,
        interest_due=sum((i.interest for i in schedule if i.due_on <= as_of), ZERO),
        interest_received=interest_received,
        principal_in_arrears=sum((line.principal_unpaid for line in overdue), ZERO),
        interest_in_arrears=sum((line.interest_unpaid for line in overdue), ZERO),
        days_overdue=(as_of - first_overdue_on).days if first_overdue_on else 0,
        first_overdue_on=first_overdue_on,
        lines=tuple(lines),
    )
