"""The API's token login reads who is asking and their roles in one query."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from portfolio import access
from portfolio.authentication import TokenAuthentication
from portfolio.models import Role
from tests.factories import FunderFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_token_brings_the_users_roles_in_the_same_query():
    bank, other = FunderFactory(), FunderFactory()
    officer = MembershipFactory(organisation=bank, role=Role.DONOR_OFFICER).user
    MembershipFactory(user=officer, organisation=other, role=Role.DONOR_OFFICER)
    MembershipFactory(user=officer, organisation=bank, role=Role.FINANCE)
    token = Token.objects.create(user=officer)

    with CaptureQueriesContext(connection) as captured:
        user, auth = TokenAuthentication().authenticate_credentials(token.key)
        found = access.roles(user)

    assert len(captured) == 1
    assert (user, auth.key) == (officer, token.key)
    assert found == access.roles(get_user_model().objects.get(pk=officer.pk))
    assert found.funders == {bank.pk, other.pk} and found.has(Role.FINANCE)


def test_a_user_without_a_role_is_known_but_may_read_nothing():
    token = Token.objects.create(user=UserFactory())

    user, _ = TokenAuthentication().authenticate_credentials(token.key)

    assert user == token.user and not access.can_read(user)


@pytest.mark.parametrize("case", ["made up", "inactive user"])
def test_a_bad_token_is_refused_with_a_401(case):
    user = MembershipFactory(role=Role.PORTFOLIO_MANAGER).user
    key = Token.objects.create(user=user).key
    if case == "made up":
        key = "0" * 40
    else:
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(AuthenticationFailed):
        TokenAuthentication().authenticate_credentials(key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/portfolios/").status_code == 401
