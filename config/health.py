"""Liveness of the service's dependencies, for load balancers and monitoring.

Only a database that does not answer makes the service unavailable (503). A broker or a
shared cache that does not answer degrades it: saves still succeed (their work waits in the
outbox), logins and pages still work (on a per-process cache); the answer is 200 and names
what is degraded, so a load balancer keeps sending users while monitoring raises the alarm.
"""

from django.core.cache import cache
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portfolio import outbox

from .celery import app


def database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def broker_ok():
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return True
    except Exception:
        return False


def cache_ok():
    """False while a shared cache (Redis) does not answer and this process uses its own."""
    answers = getattr(cache, "answers", None)
    return answers() if answers is not None else True


def outbox_waiting():
    try:
        return outbox.waiting()
    except Exception:
        return None


@transaction.non_atomic_requests
@never_cache
@require_GET
def healthz(request):
    checks = {"database": database_ok(), "broker": broker_ok(), "cache": cache_ok()}
    waiting = outbox_waiting() if checks["database"] else None
    degraded = [name for name, ok in checks.items() if not ok and name != "database"]
    if waiting:
        degraded.append("outbox")
    status = "ok"
    if not checks["database"]:
        status = "unavailable"
    elif degraded:
        status = "degraded"
    return JsonResponse(
        {"status": status, **checks, "outbox_waiting": waiting, "degraded": degraded},
        status=503 if status == "unavailable" else 200,
    )
