"""Failed logins, for every login door (the pages, the API's token, the admin): counted per
client address and per username, logged, and locking further tries for a while.

The client address is the connection's own unless the connection comes from a proxy listed
in TRUSTED_PROXIES; only then is X-Forwarded-For read, from the right (the hop our proxy
added) leftwards, past every trusted proxy. A client-sent header therefore changes nothing.

Counts are fixed windows in the cache, bumped with an atomic increment, so parallel guesses
are all counted. A locked address or username is refused before its password is checked.
"""

import hashlib
import ipaddress
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """'5/min', '10/hour', '100/day': DRF's notation."""
        count, _, period = text.partition("/")
        return cls(int(count), PERIODS[period.strip()[0]])


def rates():
    return {
        "address": Rate.parse(settings.LOGIN_FAILURE_RATE),
        "username": Rate.parse(settings.LOGIN_FAILURE_RATE_PER_USERNAME),
    }


@lru_cache(maxsize=8)
def _networks(proxies: tuple):
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address: str) -> bool:
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str:
    """The address of the client, as far as trusted proxies vouch for it."""
    address = request.META.get("REMOTE_ADDR", "") or ""
    if not settings.TRUSTED_PROXIES or not _trusted(address):
        return address
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            return hop
        address = hop
    return address


def _normalised(username) -> str:
    return str(username or "").strip().casefold()


def _counters(request, username):
    """(cache key prefix, rate) of each count this login attempt belongs to."""
    found = rates()
    counters = [("address", client_address(request), found["address"])]
    if _normalised(username):
        counters.append(("username", _normalised(username), found["username"]))
    for kind, value, rate in counters:
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        yield f"login-failures:{kind}:{digest}", rate


def _window(rate, now):
    start = int(now // rate.seconds) * rate.seconds
    return start, start + rate.seconds


def wait_seconds(request, username) -> int:
    """Seconds before this client may try this username again; 0 when it may now."""
    now = time.time()
    wait = 0.0
    for prefix, rate in _counters(request, username):
        start, end = _window(rate, now)
        if (cache.get(f"{prefix}:{start}") or 0) >= rate.count:
            wait = max(wait, end - now)
    if wait:
        logger.warning(
            "Login refused for %r from %s: too many failed logins",
            _normalised(username),
            client_address(request),
        )
    return int(wait) + 1 if wait else 0


def record_failure(request, username):
    now = time.time()
    for prefix, rate in _counters(request, username):
        start, end = _window(rate, now)
        key = f"{prefix}:{start}"
        cache.add(key, 0, int(end - now) + 1)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: start the window again
            cache.set(key, 1, int(end - now) + 1)
    logger.warning("Failed login for %r from %s", _normalised(username), client_address(request))


@receiver(user_login_failed)
def count_failed_login(sender, credentials, request=None, **kwargs):
    """Every door authenticates through Django, which announces each failure here."""
    if request is not None:
        record_failure(request, credentials.get("username"))
