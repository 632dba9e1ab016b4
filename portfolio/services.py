"""Writes of the portfolio's own rows: exchange rates, and the set-up (portfolios, organisations).

Each write asks the role table, validates the whole row (its database constraints included)
and saves it with its author in the history; the API, the pages and the admin call these.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from . import access, errors
from .models import ExchangeRate, Organisation, Portfolio


def save_row(row, user):
    """Save one row whose rules all live on the row itself, as `user` may.

    The building block of the services below, and of any app's service for a row that needs
    no lock and touches no other row. A row another request saved meanwhile makes the
    database refuse it: that refusal comes back as a plain ValidationError, and the save runs
    in a savepoint, so the caller's transaction stays usable to show it.
    """
    access.check(user, access.CHANGE if row.pk else access.ADD, row)
    row._history_user = user
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as error:
        raise errors.from_integrity_error(error) from error
    return row


def save_exchange_rate(rate: ExchangeRate, user) -> ExchangeRate:
    """Record or correct an exchange rate (finance staff and managers)."""
    return save_row(rate, user)


RETIRE_REASON_MAX = 100  # the history's change reason holds this many characters


def retire_exchange_rate(rate: ExchangeRate, user, reason="") -> None:
    """Take back a wrong exchange rate (finance staff and managers): conversions fall back on
    the rate before it; the history keeps the rate, who retired it and why."""
    access.check(user, access.DELETE, rate)
    reason = (reason or "").strip()
    if len(reason) > RETIRE_REASON_MAX:
        raise ValidationError(
            {"reason": _("At most %(limit)d characters.") % {"limit": RETIRE_REASON_MAX}}
        )
    rate._history_user = user
    rate._change_reason = reason or None
    rate.delete()


def save_portfolio(portfolio: Portfolio, user) -> Portfolio:
    """Set up or change a portfolio (managers)."""
    return save_row(portfolio, user)


def save_organisation(organisation: Organisation, user) -> Organisation:
    """Add or change a funder, implementing partner or evaluation firm (managers)."""
    return save_row(organisation, user)
