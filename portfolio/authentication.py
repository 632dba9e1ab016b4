"""How the API knows who is asking: DRF's token, with the user's roles read in the same query.

Apart from portfolio.api because DRF reads its authentication classes when its views module
loads, before portfolio.api could finish importing.
"""

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from . import access


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, reading the user's roles in the same query, so a
    request costs one round trip for who is asking and what they may do."""

    def authenticate_credentials(self, key):
        rows = list(
            get_user_model()
            .objects.filter(auth_token__key=key)
            .annotate(
                membership_role=F("memberships__role"),
                membership_organisation=F("memberships__organisation_id"),
            )
        )
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = rows[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        access.remember_roles(
            user,
            [
                (row.membership_role, row.membership_organisation)
                for row in rows
                if row.membership_role
            ],
        )
        return user, Token(key=key, user=user)
