"""Failed logins lock further tries per real client address and per username, at the page
login, the API's token login and the admin, and each failure is logged."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import RequestFactory

from portfolio import logins
from tests.factories import MembershipFactory

TOKEN_URL = "/api/v1/auth/token/"
PAGE_URL = "/accounts/login/"
ADMIN_URL = "/admin/login/"


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return MembershipFactory(user__username="amina").user


def token_login(client, password, username="amina", **headers):
    return client.post(TOKEN_URL, {"username": username, "password": password}, **headers)


def page_login(client, password, username="amina", **headers):
    return client.post(PAGE_URL, {"username": username, "password": password}, **headers)


# --- the client address ------------------------------------------------------------------


def request_from(remote, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/", **headers)


def test_without_trusted_proxies_a_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert logins.client_address(request_from("198.51.100.7", "1.2.3.4")) == "198.51.100.7"


def test_behind_a_trusted_proxy_the_hop_it_added_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The client sent "1.2.3.4" itself; our proxy appended the address it saw.
    request = request_from("10.1.2.3", "1.2.3.4, 203.0.113.9")
    assert logins.client_address(request) == "203.0.113.9"


def test_a_chain_of_trusted_proxies_is_walked_past(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    request = request_from("10.1.2.3", "spoofed, 203.0.113.9, 192.0.2.1, 10.9.9.9")
    assert logins.client_address(request) == "203.0.113.9"


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert logins.client_address(request_from("203.0.113.50", "10.0.0.1")) == "203.0.113.50"


# --- the token login ---------------------------------------------------------------------


def test_a_forged_forwarded_header_does_not_reset_the_count(client, user):
    # The probe: 40 wrong passwords, each with another X-Forwarded-For, got no 429.
    answers = [
        token_login(
            client, "guess", username=f"someone{n}", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(40)
    ]

    assert answers[:5] == [400] * 5
    assert set(answers[5:]) == {429}
    assert token_login(client, "pw").status_code == 429


def test_each_client_behind_a_trusted_proxy_has_its_own_count(client, user, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    for _ in range(5):
        token_login(client, "guess", username="x", HTTP_X_FORWARDED_FOR="203.0.113.1")

    assert (
        token_login(client, "guess", username="x", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code
        == 429
    )
    assert token_login(client, "pw", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200


def test_a_username_guessed_from_many_addresses_is_locked(client, user, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.LOGIN_FAILURE_RATE_PER_USERNAME = "10/hour"
    for n in range(10):
        response = token_login(client, "guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        assert response.status_code == 400

    locked = token_login(client, "pw", HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    # Other users are not locked with it.
    MembershipFactory(user__username="bola")
    assert (
        token_login(client, "pw", username="bola", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code
        == 200
    )


def test_usernames_are_counted_whatever_their_case(client, user, settings):
    settings.LOGIN_FAILURE_RATE_PER_USERNAME = "3/hour"
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    for n, name in enumerate(["amina", "AMINA", " Amina"]):
        token_login(client, "guess", username=name, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    assert token_login(client, "pw", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


def test_failed_logins_are_logged_with_username_and_address(client, user, caplog):
    token_login(client, "guess")
    page_login(client, "guess")

    failures = [r.getMessage() for r in caplog.records if r.name == "portfolio.logins"]
    assert failures == [
        "Failed login for 'amina' from 127.0.0.1",
        "Failed login for 'amina' from 127.0.0.1",
    ]


# --- the page login ----------------------------------------------------------------------


def test_the_page_login_is_locked_after_five_failures(client, user):
    # The probe: 30 wrong passwords, then the right one, let in.
    for _ in range(5):
        response = page_login(client, "guess")
        assert response.status_code == 200
        assert "match. Please try again" in response.content.decode()

    refused = page_login(client, "pw")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed logins" in refused.content.decode()
    assert SESSION_KEY not in client.session


def test_the_page_and_the_api_share_one_count(client, user):
    for _ in range(3):
        page_login(client, "guess")
    for _ in range(2):
        token_login(client, "guess")

    assert page_login(client, "pw").status_code == 429
    assert token_login(client, "pw").status_code == 429


def test_a_good_page_login_still_lets_in(client, user):
    response = page_login(client, "pw")

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(user.pk)


def test_the_admin_login_is_locked_too(client, db):
    MembershipFactory(user__username="root", user__is_staff=True, user__is_superuser=True)
    for _ in range(5):
        client.post(ADMIN_URL, {"username": "root", "password": "guess"})

    response = client.post(ADMIN_URL, {"username": "root", "password": "pw"})

    assert "Too many failed logins" in response.content.decode()
    assert SESSION_KEY not in client.session
