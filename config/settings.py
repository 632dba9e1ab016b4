"""Settings for the portfolio tracker, read from the environment (12-factor)."""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)  # SQLite file, embedded broker, uploads and beat schedule live here

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

# Without DEBUG there is no default: Django refuses an empty key the moment anything signs
# with it, and wsgi.py/asgi.py ask for it at start-up so a server never boots without one.
# Commands that sign nothing (makemigrations, check) still run on a bare environment.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "development-only-insecure-key"  # noqa: S105 - only ever used with DEBUG on

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Links in emails point here; by default at the port the run command serves (PORT).
SITE_URL = env.str("SITE_URL", default=f"http://localhost:{env.int('PORT', default=8000)}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_countries",
    "portfolio",
    "projects",
    "funding",
    "evaluations",
    "reporting",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portfolio.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves the web server, a worker and beat at once. WAL lets readers
    # go on while one writes; IMMEDIATE takes the write lock when a transaction begins, so a
    # transaction never fails half-way trying to upgrade a read lock (which SQLite answers
    # with "database is locked" at once, whatever the timeout); the busy timeout makes a
    # second writer wait its turn instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        **DATABASES["default"].get("OPTIONS", {}),
    }
# Each web thread keeps its connection between requests (checked before reuse) rather than
# opening one per request, which would cost more than a small API page itself.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Failed-login counts and the dashboard's daily coverage live here. In-process memory serves
# one process; with several web workers set CACHE_URL (e.g. redis://host:6379/1) so they share.
# On Redis, a process falls back to its own memory while Redis does not answer.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "portfolio.cache.FallbackRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The role table (portfolio.access) answers has_perm(), so the admin obeys the same rules as
# the API and the pages.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "portfolio.access.RoleBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins lock further tries, per client address and per username (portfolio.logins),
# at every login door. The client address is the connection's, unless it comes from one of
# TRUSTED_PROXIES (addresses or networks, e.g. "10.0.0.0/8"): then X-Forwarded-For is read.
LOGIN_FAILURE_RATE = env.str("LOGIN_FAILURE_RATE", default="5/min")
LOGIN_FAILURE_RATE_PER_USERNAME = env.str("LOGIN_FAILURE_RATE_PER_USERNAME", default="10/hour")
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# British English is English with its own dates ("28 Nov 2026", 24-hour clock); browsers that
# ask for en-GB get it. Each language's date formats are in config/formats.
LANGUAGES = [
    ("en", "English"),
    ("en-gb", "English (UK)"),
    ("fr", "Français"),
    ("es", "Español"),
]
FORMAT_MODULE_PATH = ["config.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Evidence files and evaluation reports: never served as media, only through views that ask
# the role table (evaluations.views.evidence_download, evaluation_report).
PRIVATE_FILES_ROOT = Path(env.str("PRIVATE_FILES_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Email: console unless EMAIL_URL names an SMTP server (smtp://user:pass@host:587/?tls=True).
EMAIL_URL = env.str("EMAIL_URL", default="consolemail://")
vars().update(env.email_url_config(EMAIL_URL))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portfolio-tracker@localhost")
EMAIL_TIMEOUT = 10

# Celery. Without REDIS_URL the broker is kombu's filesystem transport under var/, so a
# laptop runs worker and beat with no server at all.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        # A task taken by a worker that vanished (killed, host lost) is delivered again after
        # this many seconds; it must exceed the longest task, or a slow one would run twice.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # Workers look for such tasks every 10 s (kombu's default scans only every tenth look,
        # which would add up to 100 s to the timeout above).
        "unacked_restore_throttle": 1,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_RESULT_BACKEND = f"file://{CELERY_BROKER_DIR / 'results'}"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    for folder in ("queue", "processed", "results", "control"):
        (CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent, so a redelivery after a crash is safe
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
# A web request must never hang on a dead broker: a few quick retries, then give up.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
LAPSE_SCAN_HOUR = env.int("LAPSE_SCAN_HOUR", default=5)
CELERY_BEAT_SCHEDULE = {
    "scan-lapses-daily": {
        "task": "funding.tasks.scan_lapses_task",
        "schedule": crontab(hour=LAPSE_SCAN_HOUR, minute=0),
    },
    "expire-exports-hourly": {
        "task": "reporting.tasks.expire_exports_task",
        "schedule": crontab(minute=17),
    },
    # Work a broker outage held back (rescans, digests, exports) is published again within
    # this many seconds of the broker's return.
    "drain-outbox": {
        "task": "portfolio.tasks.drain_outbox_task",
        "schedule": env.float("OUTBOX_DRAIN_SECONDS", default=15.0),
    },
    # Exports whose worker died (no heartbeat) are queued again.
    "recover-exports": {
        "task": "reporting.tasks.recover_exports_task",
        "schedule": 60.0,
    },
}

# Tests that need PostgreSQL or Redis fail instead of skipping when this is set (CI).
REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request is answered 401 with WWW-Authenticate: Token.
        # No Basic auth: it would try passwords past the failed-login throttle.
        "portfolio.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON, written by orjson (portfolio.renderers); the browsable API as usual.
    "DEFAULT_RENDERER_CLASSES": [
        "portfolio.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON refused past a sane nesting depth (a 400, not a RecursionError); forms as usual.
    "DEFAULT_PARSER_CLASSES": [
        "portfolio.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    # The API's viewsets page with portfolio.api.Pagination (?page_size= up to 500).
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "portfolio.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Blended-finance portfolio tracker API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,  # read-only fields stay out of request bodies
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portfolio.api.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ProjectStatusEnum": "projects.models.Status",
        "TrancheStatusEnum": "funding.models.TrancheStatus",
        "MeasurementStatusEnum": "evaluations.models.MeasurementStatus",
        "FollowUpStatusEnum": "evaluations.models.FollowUp",
        "FlagKindEnum": "funding.models.FlagKind",
        "EvaluationKindEnum": "evaluations.models.EvaluationKind",
        "RatingEnum": "evaluations.models.Rating",
        "PolicySignificanceEnum": "projects.models.PolicySignificance",
    },
}

# Uploaded files (evaluation reports, spreadsheets) are size-limited.
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# An uploaded workbook is a zip: what it may unpack to, checked before any XML is parsed.
MAX_UPLOAD_UNCOMPRESSED_BYTES = env.int("MAX_UPLOAD_UNCOMPRESSED_BYTES", default=100 * 1024 * 1024)

# Excel exports: files are deleted this many hours after they are written; exports of up to
# this many projects are written during the request, larger ones by a worker.
EXPORT_FILE_HOURS = env.int("EXPORT_FILE_HOURS", default=24)
EXPORT_SYNC_MAX_PROJECTS = env.int("EXPORT_SYNC_MAX_PROJECTS", default=200)
# A running export reports progress (its heartbeat) every few seconds; one silent this long
# has lost its worker and is queued again.
EXPORT_STALE_SECONDS = env.int("EXPORT_STALE_SECONDS", default=180)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # HTTPS only: plain HTTP is redirected (the proxy's X-Forwarded-Proto tells them apart)
    # and browsers are told to stay on HTTPS. /healthz answers load balancers on plain HTTP.
    # SECURE_SSL_REDIRECT=0 serves plain HTTP, e.g. on loopback in tests and benchmarks.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
