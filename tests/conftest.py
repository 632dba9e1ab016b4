"""Shared fixtures: the cast of users, one per role; the demo portfolio, seeded once and copied
into each module that asks (and into each browser test); and the rule that a test needing a
missing service fails under CI."""

import shutil
import socket
from dataclasses import dataclass
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone, translation

from devtools.management.commands.seed_demo import PORTFOLIO_NAME
from portfolio.models import Organisation, Portfolio, Role
from tests.factories import EvaluatorOrgFactory, FunderFactory, MembershipFactory, UserFactory

ROLES = ("manager", "officer", "other_officer", "evaluator", "finance", "no_role")
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Cast:
    """Two funders, an evaluation firm, and one user per role, as healthchecks' BaseTestCase
    sets up alice, bob and charlie for every test that needs people."""

    funder_a: Organisation
    funder_b: Organisation
    evaluation_firm: Organisation
    manager: object  # portfolio manager (at funder A), staff: may open the admin
    officer: object  # donor officer of funder A
    other_officer: object  # donor officer of funder B
    evaluator: object  # evaluator at the evaluation firm
    finance: object  # finance staff (at funder A)
    no_role: object  # signed in, but holds no role

    def __getitem__(self, role):
        return getattr(self, role)

    @property
    def users(self) -> dict:
        return {role: self[role] for role in ROLES}


# Tests that must not run beside each other: each group runs on one pytest-xdist worker, one
# test at a time. Servers and Celery workers on the shared Redis would take each other's tasks;
# browsers and the embedded stack are heavy, so each has a group of its own and the three
# groups run side by side with the rest of the suite.
GROUPS = {
    "tests/system/": "shared-services",
    "tests/config/test_celery.py": "shared-services",
    "tests/funding/test_scan_triggers.py": "shared-services",
    "tests/e2e/": "browser",
    "tests/funding/test_scan_embedded.py": "embedded-stack",
}


# tryfirst: pytest-xdist reads the groups in its own hook of the same name, which the
# workers register after this file; without it, the groups would come too late and be ignored.
# (pytest-xdist 3.8 under pytest 9.2 ignores every group anyway: pytest-dev/pytest-xdist#1386.)
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`make test`), puts each test that shares a service in its group
    (GROUPS above; any test that uses the shared Redis joins "shared-services")."""
    for item in items:
        path = str(item.fspath)
        group = next((name for part, name in GROUPS.items() if part in path), None)
        if group is None and (
            item.get_closest_marker("redis") or "redis_url" in getattr(item, "fixturenames", ())
        ):
            group = "shared-services"
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def cast(db):
    funder_a = FunderFactory(name="Funder A")
    funder_b = FunderFactory(name="Funder B")
    firm = EvaluatorOrgFactory(name="Evaluation firm")

    def member(username, organisation, role, **extra):
        user = UserFactory(username=username, **extra)
        MembershipFactory(user=user, organisation=organisation, role=role)
        return user

    return Cast(
        funder_a=funder_a,
        funder_b=funder_b,
        evaluation_firm=firm,
        manager=member("manager", funder_a, Role.PORTFOLIO_MANAGER, is_staff=True),
        officer=member("officer", funder_a, Role.DONOR_OFFICER),
        other_officer=member("other_officer", funder_b, Role.DONOR_OFFICER),
        evaluator=member("evaluator", firm, Role.EVALUATOR),
        finance=member("finance", funder_a, Role.FINANCE),
        no_role=UserFactory(username="no_role"),
    )


# The rows manage.py seed_demo leaves, by the day it was seeded on, for this pytest process.
DEMO_ROWS = {}
# Written by the migrations alone: never copied with the demo.
NOT_DEMO_ROWS = {"contenttypes.contenttype", "auth.permission", "sessions.session"}


@pytest.fixture(scope="module")
def seeded_demo(django_db_setup, django_db_blocker):
    """The demo portfolio for the module that asks for it, inside a transaction rolled back
    when the module ends. Each test still runs in a savepoint of its own (the `db` fixture), so
    what one test writes is gone before the next reads the demo.

    manage.py seed_demo (8 to 10 s) runs once a day in each pytest process; the next modules
    get a copy of the rows it left (about a second), the same to the microsecond, ids and all.
    Seeded as of the real today: a test that travels in time sees a demo dated before it left.

    The rows are there for every later test of the module, asked for or not, so a module using
    them holds no test that needs a database without the demo. A test with `transaction=True`
    must not ask for it: its commits would not be real and its flush would empty the database
    (tests/e2e commits a copy of its own for each test, through `load_demo`)."""
    from funding.signals import rescans_paused

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            # As each test's own autouse fixtures would have it: fast hashes, no rescan per save.
            with override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS), rescans_paused():
                load_demo()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def load_demo():
    """Save the demo in the current transaction: manage.py seed_demo the first time of the
    day in this pytest process, a copy of the rows it left after that (`seeded_demo`; the
    browser tests commit it for their live server)."""
    today = timezone.localdate()
    if today in DEMO_ROWS:
        for row in serializers.deserialize("python", DEMO_ROWS[today]):
            row.save()
        sequences_past_the_copy()
    else:
        call_command("seed_demo", force=True, stdout=StringIO())
        DEMO_ROWS[today] = every_row()


def sequences_past_the_copy():
    """Move each table's id sequence past the copy's ids, as loaddata does: a test that
    migrated tables back and forth since the seed restarted their sequences, and the next
    row saved would take an id of the copy."""
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), demo_models()):
            cursor.execute(statement)


def demo_models():
    return [
        model
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.label_lower not in NOT_DEMO_ROWS
    ]


def every_row():
    """Every row of the database but NOT_DEMO_ROWS, as Python values (no rounding of times).
    The order they are saved back in does not matter: foreign keys are checked at the end of
    the transaction. Ids are kept, and `load_demo` moves the sequences past them, so rows
    created later never collide with the copy."""
    rows = []
    for model in demo_models():
        rows += serializers.serialize("python", model._base_manager.order_by("pk"))
    return rows


@pytest.fixture
def demo(db, seeded_demo):
    """The demo portfolio (manage.py seed_demo), as seeded for the module (`seeded_demo`)."""
    return Portfolio.objects.get(name=PORTFOLIO_NAME)


def _require(service, available):
    if available:
        return
    message = f"{service} is not available"
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"{message}, and REQUIRE_SERVICES=1 says the tests need it")
    pytest.skip(message)


@pytest.fixture
def postgres():
    """The test needs PostgreSQL (row locks, real concurrency)."""
    _require("PostgreSQL (set DATABASE_URL=postgres://...)", connection.vendor == "postgresql")


def redis_answers(url):
    if not url:
        return False
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError):
        return False


@pytest.fixture
def redis_url():
    """The test needs a real Redis; returns its URL."""
    _require("Redis (set REDIS_URL=redis://...)", redis_answers(settings.REDIS_URL))
    return settings.REDIS_URL


@pytest.fixture
def gettext():
    """The test runs GNU gettext's tools, as makemessages does (Debian's `gettext` package)."""
    tools = ("xgettext", "msguniq", "msgmerge")
    _require("GNU gettext (apt-get install gettext)", all(map(shutil.which, tools)))


@pytest.fixture(autouse=True)
def rescans_only_when_asked(request):
    """Every save rescans its project as of today inside its transaction (funding.signals).
    Most tests build rows with dates of their own and hand-made flags, which a rescan as of
    the real today would add to; they run without it, as bulk loads do. A test of what a
    save shows asks for the rescan with the `rescans_on_save` fixture."""
    if "rescans_on_save" in request.fixturenames:
        yield
        return
    from funding.signals import rescans_paused

    with rescans_paused():
        yield


@pytest.fixture
def rescans_on_save():
    """Saves rescan their projects inside their transaction, as in production."""


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashers cost ~0.3 s a user by design; tests need speed, not resistance."""
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


@pytest.fixture(autouse=True)
def language_of_the_site():
    """Each test starts in the site's language and leaves it so. A request asking for French
    activates it for the thread it runs on (LocaleMiddleware does not switch back), and the
    next test on that worker read its messages in French."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def plain_http(settings):
    """Tests speak plain HTTP to the app, as the TLS proxy does in production once it has
    ended TLS; with DEBUG off the app would otherwise redirect every request to HTTPS."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True, scope="session")
def isolated_embedded_broker(tmp_path_factory):
    """Tests must never leave tasks in the developer's var/broker, where `make run`'s
    worker would run them against the development database."""
    from config.celery import app

    if not app.conf.broker_url.startswith("filesystem"):
        yield
        return
    folder = tmp_path_factory.mktemp("broker")
    original = dict(app.conf.broker_transport_options)
    for name in ("queue", "processed", "control"):
        (folder / name).mkdir()
    app.conf.broker_transport_options = {
        **original,
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }
    reset_broker_connections()
    yield
    app.conf.broker_transport_options = original
    reset_broker_connections()


@pytest.fixture
def broker_down():
    """Point Celery at a port where nothing listens, as when Redis has died."""
    from config.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    reset_broker_connections()
    yield
    app.conf.broker_url = original
    reset_broker_connections()


def reset_broker_connections():
    """Drop Celery's cached connections and producers after the broker settings changed."""
    from kombu import pools

    from config.celery import app

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
