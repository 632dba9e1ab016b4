"""A Redis cache that falls back to this process's memory while Redis does not answer.

The cache holds failed-login counts and the dashboard's daily figures: worth sharing between
web processes, never worth an error page. When Redis fails, each process carries on with a
cache of its own (counts are per process for a while, which is how a single-process
deployment always works), tries Redis again after a few seconds, and `/healthz` says the
cache is degraded meanwhile.
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds to use the fallback before asking Redis again


class FallbackRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._fallback = LocMemCache(f"fallback:{server}", {"TIMEOUT": params.get("TIMEOUT")})
        self._down_until = 0.0
        self.last_error = ""

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    def _either(self, name, *args):
        if not self.degraded:
            try:
                result = getattr(super(), name)(*args)
            except (RedisError, OSError) as error:
                self._went_down(error)
            else:
                if self.last_error:
                    logger.warning("Cache: Redis answers again")
                    self.last_error = ""
                return result
        return getattr(self._fallback, name)(*args)

    def _went_down(self, error):
        if not self.last_error:
            logger.warning("Cache: Redis does not answer (%s); using process memory", error)
        self.last_error = str(error) or type(error).__name__
        self._down_until = time.monotonic() + RETRY_AFTER

    def answers(self) -> bool:
        """Whether Redis answers now (for /healthz), whatever the last call found."""
        try:
            return bool(self._cache.get_client(write=True).ping())
        except (RedisError, OSError) as error:
            self._went_down(error)
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._either("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._either("delete", key, version)

    def get_many(self, keys, version=None):
        return self._either("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._either("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._either("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._either("delete_many", keys, version)

    def clear(self):
        return self._either("clear")
