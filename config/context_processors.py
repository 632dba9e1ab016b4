"""Template context for every page: what the signed-in user may do, so the navigation shows it."""

from evaluations.models import Evaluation, Measurement
from funding.models import Tranche
from portfolio import access
from portfolio.models import ExchangeRate
from reporting.models import ExportJob


def navigation(request):
    """`can.<task>` for the menus and buttons; the views ask `access` again before they act."""
    user = getattr(request, "user", None)
    if user is None or not access.can_read(user):
        return {"can": {}}
    return {
        "can": {
            "read": True,
            "log_tranches": access.may(user, access.ADD, Tranche),
            "record_results": access.may(user, access.ADD, Measurement),
            "review_results": access.may(user, access.REVIEW, Measurement),
            "returned_results": access.may(user, access.ADD, Measurement),
            "record_evaluations": access.may(user, access.ADD, Evaluation),
            "keep_rates": access.may(user, access.ADD, ExchangeRate),
            "export": access.may(user, access.VIEW, ExportJob),
            "admin": user.is_staff,
        }
    }
