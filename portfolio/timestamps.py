"""PostgreSQL timestamps read by psycopg's compiled loader rather than Django's Python one.

Django loads every `timestamptz` through a Python subclass of psycopg's Python loader, only to
set the connection's time zone on the result: about 5 us a value, a millisecond for a page of
50 rows with two timestamps, more than the rest of reading those rows. When the session's time
zone is UTC (Django sets it so under USE_TZ), psycopg's compiled loader already answers with
`datetime.timezone.utc`, the very value Django would set. Django keeps its own loader off a
cursor when the connection's loader says it has the connection's time zone (`timezone`), so
registering this one on each new connection is enough; should Django stop trusting it, its
own loader comes back and only the speed is lost.
"""

from datetime import UTC

from psycopg import adapters, postgres
from psycopg.adapt import Loader
from psycopg.pq import Format

TIMESTAMPTZ = postgres.types["timestamptz"].oid
COMPILED = adapters.get_loader(TIMESTAMPTZ, Format.TEXT)  # psycopg's own, in C when installed


class UtcTimestampLoader(Loader):
    """A `timestamptz` in UTC, parsed by psycopg's compiled loader."""

    timezone = UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._parse = COMPILED(oid, context).load

    def load(self, data):
        value = self._parse(data)
        # Another session time zone (a SET TIME ZONE) gives another offset: answer in UTC all
        # the same, as Django's loader does.
        return value if value.tzinfo is UTC else value.astimezone(UTC)


def use_compiled_loader(sender, connection, **kwargs):
    """On each new PostgreSQL connection whose time zone is UTC (`connection_created`)."""
    if connection.vendor == "postgresql" and connection.timezone is UTC:
        connection.connection.adapters.register_loader(TIMESTAMPTZ, UtcTimestampLoader)
