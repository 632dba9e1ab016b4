"""What every page view asks first: a signed-in user who holds a role in the portfolio."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from . import access


def reader_required(view):
    """Anonymous users go to the login page; a signed-in user without a role sees nothing,
    so the page answers 404 as the API and the admin do."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not access.can_read(request.user):
            raise Http404("You have no role in this portfolio.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)
