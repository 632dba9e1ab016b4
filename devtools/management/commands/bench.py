"""manage.py bench: the design's performance budgets, measured in one run that reports as it goes.

Each part prints its figures the moment it has them. A part that fails, or runs past its time
limit, is reported and the run goes on; Ctrl-C stops the run and still prints what was
measured. The closing table sets each budget beside the figure before (issue 23) and now.

Parts, in this order (`--parts` chooses; `--quick` runs each at a tenth of its size as CI's
smoke test and judges no budget):

- export: a synthetic portfolio of 10,000 projects and 100,000 tranches, then bench_export
  on it (kept for the next part);
- api: on the same portfolio, the queries and the query plan of each list page, then each
  endpoint under load (gunicorn with production's gunicorn.conf.py, on loopback) at 4 and 16 clients,
  beside the 1-row /api/v1/portfolios/ list, the framework's own floor (at 16 clients
  measured between every two lists, each list judged against the floor either side of it);
- import: bench_import at 2,000 and 20,000 rows;
- scan: bench_lapse_scan over 100,000 launched projects.

A part run as a command of its own may print JSON lines {"part", "figure", "value", "budget",
"holds"}: they become rows of this table. Its other lines are relayed as they come.
"""

import contextlib
import http.client
import json
import os
import platform
import re
import runpy
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.test import Client
from rest_framework.authtoken.models import Token

from devtools import synthetic
from devtools.plans import explain, reads, whole_table_sorts
from evaluations.models import Evaluation, Indicator, Measurement, Target
from funding import scan
from funding.models import Disbursement, LapseFlag, Tranche
from portfolio.models import ExchangeRate, Membership, Organisation, Role
from projects.models import Project

# --- Budgets: the design's (DESIGN.md, "Performance budgets") and issue 23's ------------------
#
# key: (what, budget, before). "Before" is what issue 23 measured on this kind of machine
# (2 cores) before the work it asked for; the closing table puts this run's figure beside it.
BUDGETS = {
    "wall": ("make bench, wall time", "< 15 min", "stopped after 30 min, nothing reported"),
    "scan": ("lapse scan, 100,000 projects: slowest scan", "< 60 s", "measured, never reported"),
    "export_time": ("Excel export, 10,000 projects / 100,000 tranches", "< 60 s", "4 min 16 s"),
    "export_rss": ("Excel export, peak RSS", "< 250 MB", "128 MB"),
    "export_floor": ("Excel export / raw XML floor", "goal <= 3x", "not measured"),
    "import": ("tranche import, 20,000 rows", "< 20 s", "see issue 22"),
    "queries": ("API list page, queries at 10 and 50 rows", "fixed", "6 and 6"),
    "plans": (
        "API list pages read through an index",
        "every list",
        "tranches: sort of 100,000 rows",
    ),
    "floor": ("API floor /api/v1/portfolios/, requests/s at 4 / 16", "the yardstick", "69 / 71"),
    "list_p99_4": ("API lists, 4 clients: slowest p99", "< 250 ms", "tranches 1.4 s"),
    "detail_p99_4": ("API details, 4 clients: slowest p99", "< 100 ms", "not measured"),
    "ratio_16": ("API lists, 16 clients: requests/s / floor's", ">= 0.5 each", "tranches 0.06"),
    "list_p99_16": ("API lists, 16 clients: slowest p99 (design)", "< 300 ms", "tranches 7.0 s"),
    "errors_16": ("API, 16 clients: errors", "0", "not measured"),
}
PARTS = ["export", "api", "import", "scan"]
PART_SECONDS = {"export": 360, "api": 420, "import": 240, "scan": 300}  # then stopped
LIST_P99_MS, DETAIL_P99_MS, LIST_P99_16_MS, FLOOR_SHARE = 250, 100, 300, 0.5
SCAN_SECONDS, EXPORT_SECONDS, EXPORT_MB, IMPORT_SECONDS = 60, 60, 250, 20
BENCH_USER = f"{synthetic.USER_PREFIX}bench-officer"
FLOOR = "/api/v1/portfolios/"
LISTS = {
    "projects": Project,
    "tranches": Tranche,
    "disbursements": Disbursement,
    "lapse-flags": LapseFlag,
    "indicators": Indicator,
    "targets": Target,
    "measurements": Measurement,
    "evaluations": Evaluation,
    "organisations": Organisation,
    "exchange-rates": ExchangeRate,
}
SCAN_DAY = date(2026, 3, 1)


class Stopped(Exception):
    """A part ran past its time limit."""


@dataclass
class Run:
    """What a load run measured for one endpoint."""

    path: str
    clients: int
    seconds: float = 0.0
    latencies: list = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self):
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p):
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]

    def __str__(self):
        return (
            f"{self.rate:6.1f} req/s  p50 {self.percentile(50):5.0f} ms  "
            f"p99 {self.percentile(99):5.0f} ms  {self.errors} errors"
        )


class Command(BaseCommand):
    help = (
        "Measure every performance budget of the design on a throwaway PostgreSQL database, "
        "printing each figure as it is measured and a closing table of budgets, before and now."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--parts",
            default=",".join(PARTS),
            help="Comma-separated parts to run, of: %(default)s.",
        )
        parser.add_argument(
            "--quick",
            action="store_true",
            help="Every size a tenth, load runs of 1 s, and no budget judged: a smoke test.",
        )
        parser.add_argument("--projects", type=int, default=10_000)
        parser.add_argument("--tranches-per-project", type=int, default=10)
        parser.add_argument("--scan-projects", type=int, default=100_000)
        parser.add_argument("--import-rows", default="2000,20000", help="Comma-separated sizes.")
        parser.add_argument("--load-seconds", type=float, default=6.0, help="Per endpoint.")
        parser.add_argument("--clients", default="4,16", help="Comma-separated client counts.")
        parser.add_argument(
            "--web-workers",
            type=int,
            help="gunicorn workers (default: production's, from gunicorn.conf.py).",
        )
        parser.add_argument(
            "--web-threads",
            type=int,
            help="Threads a worker (default: production's sync workers); issue 23 measured 2 x 4.",
        )

    # --- the run --------------------------------------------------------------------------

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "Benchmark on PostgreSQL: "
                "DATABASE_URL=postgres://postgres@127.0.0.1:5432/portfolio_bench"
            )
        if synthetic.real_projects_exist():
            raise CommandError(
                "Run the benchmark against a throwaway database: this one holds real projects."
            )
        parts = [part.strip() for part in options["parts"].split(",") if part.strip()]
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise CommandError(f"No such part: {', '.join(sorted(unknown))}. Parts: {PARTS}.")
        self.options = self.sized(options)
        self.quick = options["quick"]
        self.after, self.held, self.outcomes = {}, {}, {}
        self.seeded, self.floors = None, {}
        started = time.monotonic()
        self.machine()
        self.budgets()
        try:
            for part in parts:
                self.run_part(part)
        except KeyboardInterrupt:
            self.say("\nStopped (Ctrl-C): the figures so far follow.")
        finally:
            minutes, seconds = divmod(time.monotonic() - started, 60)
            self.record("wall", f"{minutes:.0f} min {seconds:02.0f} s", minutes < 15)
            self.closing()
            synthetic.clean()
        failed = [part for part, outcome in self.outcomes.items() if outcome != "done"]
        over = [key for key, holds in self.held.items() if holds is False]
        if failed or (over and not self.quick):
            raise CommandError(
                f"Parts not done: {', '.join(failed) or 'none'}; "
                f"budgets over: {', '.join(over) if not self.quick else 'not judged (--quick)'}."
            )

    def sized(self, options):
        options = dict(options)
        options["import_rows"] = [int(n) for n in options["import_rows"].split(",")]
        options["clients"] = [int(n) for n in options["clients"].split(",")]
        if options["quick"]:
            for name in ("projects", "scan_projects"):
                options[name] = max(options[name] // 10, 10)
            options["import_rows"] = [max(n // 10, 10) for n in options["import_rows"]]
            options["load_seconds"] = min(options["load_seconds"], 1.0)
        return options

    def run_part(self, part):
        self.say(f"\n== {part} " + "=" * (70 - len(part)))
        self.say(
            f"   (machine load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        self.deadline = time.monotonic() + PART_SECONDS[part] * (1 if not self.quick else 0.5)
        started = time.monotonic()
        try:
            getattr(self, f"part_{part}")()
            self.outcomes[part] = "done"
        except Stopped as stop:
            self.outcomes[part] = f"stopped: {stop}"
        except KeyboardInterrupt:
            self.outcomes[part] = "stopped (Ctrl-C)"
            raise
        except Exception as error:  # noqa: BLE001 - a failed part must not lose the others
            self.outcomes[part] = f"failed: {type(error).__name__}: {error}"
        self.say(f"-- {part}: {self.outcomes[part]} in {time.monotonic() - started:.0f} s")

    def check_time(self, what):
        if time.monotonic() > self.deadline:
            raise Stopped(f"past its time limit before {what}")

    # --- reporting ------------------------------------------------------------------------

    def say(self, line=""):
        self.stdout.write(line)
        self.stdout.flush()

    def row(self, part, figure, value, budget="", holds=None):
        verdict = ""
        if holds is not None:
            verdict = "(quick)" if self.quick else ("holds" if holds else "OVER")
        self.say(f"   {part:<34} {figure:<34} {value!s:<40} {budget:<16} {verdict}")

    def record(self, key, value, holds=None):
        """This run's figure for a budget of the closing table."""
        self.after[key] = value
        if holds is not None:
            self.held[key] = holds if self.held.get(key, True) else False

    def machine(self):
        model = "unknown CPU"
        cpuinfo = Path("/proc/cpuinfo")
        if cpuinfo.exists():
            found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
            model = found.group(1) if found else model
        major, minor = divmod(connection.pg_version, 10000)
        self.say(
            f"Machine: {os.cpu_count()} cores, {model}; load average "
            f"{', '.join(f'{n:.1f}' for n in os.getloadavg())}; Python "
            f"{platform.python_version()}; PostgreSQL {major}.{minor}"
        )
        if self.quick:
            self.say("Quick mode: a tenth of every size, no budget judged.")

    def budgets(self):
        self.say("\nBudgets (DESIGN.md 'Performance budgets', issue 23):")
        for what, budget, before in BUDGETS.values():
            self.say(f"   {what:<58} {budget:<14} before: {before}")

    def closing(self):
        self.say("\nBudgets, before and now:")
        self.say(f"   {'':<58} {'budget':<14} {'before':<38} {'now':<30}")
        for key, (what, budget, before) in BUDGETS.items():
            holds = self.held.get(key)
            verdict = (
                "" if holds is None else "(quick)" if self.quick else "holds" if holds else "OVER"
            )
            now = self.after.get(key, "not measured")
            self.say(f"   {what:<58} {budget:<14} {before:<38} {now!s:<30} {verdict}")
        for part, outcome in self.outcomes.items():
            self.say(f"   part {part}: {outcome}")

    # --- parts run as commands of their own -----------------------------------------------

    def stream(self, label, *args, lines=None):
        """Run `manage.py *args`, relaying each line as it comes, until it ends or the part's
        time runs out. Returns its lines (also gathered in `lines`, so a part that is stopped
        still has what was printed before); JSON figure lines become rows of the table."""
        process = subprocess.Popen(  # noqa: S603 - our own manage.py
            [sys.executable, "-u", "manage.py", *args],
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        timer = threading.Timer(max(self.deadline - time.monotonic(), 1), self.stop, [process])
        timer.start()
        lines = [] if lines is None else lines
        try:
            for line in process.stdout:
                line = line.rstrip()
                lines.append(line)
                figure = self.figure(line)
                if figure:
                    self.row(*figure)
                else:
                    self.say(f"   [{label}] {line}")
            process.wait()
        except BaseException:
            self.stop(process)
            raise
        finally:
            timer.cancel()
        if process.returncode < 0:
            raise Stopped(f"manage.py {args[0]} ran past its time limit")
        if process.returncode:
            raise CommandError(f"manage.py {args[0]} ended with status {process.returncode}")
        return lines

    @staticmethod
    def stop(process):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def figure(self, line):
        if not line.startswith("{"):
            return None
        try:
            data = json.loads(line)
            return (
                data["part"],
                data["figure"],
                data["value"],
                data.get("budget", ""),
                data.get("holds"),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def seed(self):
        projects, per_project = self.options["projects"], self.options["tranches_per_project"]
        if self.seeded == (projects, per_project):
            return
        self.say(f"   seeding {projects:,} projects with {per_project} tranches each ...")
        self.stream(
            "seed",
            "seed_scale",
            "--projects",
            str(projects),
            "--tranches-per-project",
            str(per_project),
        )
        started = time.monotonic()
        scan.scan_lapses(SCAN_DAY)
        self.say(f"   lapse flags raised as of {SCAN_DAY} in {time.monotonic() - started:.1f} s")
        # As a database in service would be: no dead rows left by the clean-up before,
        # statistics that know the new sizes, and the seed's writes on disk, so that flushing
        # them does not slow the first endpoints measured (it ran the floor up from 287 to 370
        # requests a second within one block).
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in LISTS.values())
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {tables}")
            with contextlib.suppress(DatabaseError):  # a role that may not checkpoint
                cursor.execute("CHECKPOINT")
        self.seeded = (projects, per_project)

    def part_export(self):
        self.seed()
        projects = self.options["projects"]
        tranches = projects * self.options["tranches_per_project"]
        lines = self.stream(
            "export",
            "bench_export",
            "--projects",
            str(projects),
            "--tranches",
            str(tranches),
            "--reuse",
            "--keep",
        )
        text = "\n".join(lines)
        time_found = re.search(r"Summary: export ([\d.]+) s", text) or re.search(
            r"Export[^:]*: ([\d.]+) s", text
        )
        rss = re.search(r"peak RSS ([\d.]+) MB", text)
        floor = re.search(r"([\d.]+)x the (?:raw )?floor", text)
        if time_found:
            seconds = float(time_found.group(1))
            self.record("export_time", f"{seconds:.1f} s", seconds < EXPORT_SECONDS)
        if rss:
            self.record(
                "export_rss", f"{float(rss.group(1)):.0f} MB", float(rss.group(1)) < EXPORT_MB
            )
        if floor:
            self.record("export_floor", f"{float(floor.group(1)):.2f}x")

    def part_import(self):
        if "bench_import" not in get_commands():
            raise CommandError("there is no bench_import command yet")
        sizes = [str(n) for n in self.options["import_rows"]]
        lines = self.stream("import", "bench_import", "--rows", *sizes)
        self.seeded = None  # it replaces the synthetic portfolio
        largest = max(self.options["import_rows"])
        for line in lines:
            # rows, "new", wall s, CPU s, rows/s
            found = re.match(r"\s*([\d,]+)\s+new\s+([\d.]+)\s+[\d.]+\s+([\d,]+)\s", line)
            if found and int(found.group(1).replace(",", "")) == largest:
                seconds = float(found.group(2))
                self.record(
                    "import",
                    f"{largest:,} rows in {seconds:.1f} s ({found.group(3)} rows/s)",
                    seconds < IMPORT_SECONDS,
                )

    def part_scan(self):
        n = self.options["scan_projects"]
        self.seeded = None  # it replaces the synthetic portfolio
        lines = []
        try:
            self.stream("scan", "bench_lapse_scan", "--projects", str(n), "--json", lines=lines)
        finally:
            # The scans measured before a stop still count.
            seconds = [
                float(data["value"].split()[0])
                for data in map(self.json_or_none, lines)
                if data and data.get("figure", "").endswith(": time")
            ]
            if seconds:
                self.record(
                    "scan", f"{max(seconds):.1f} s at {n:,} projects", max(seconds) < SCAN_SECONDS
                )

    @staticmethod
    def json_or_none(line):
        try:
            return json.loads(line) if line.startswith("{") else None
        except ValueError:
            return None

    # --- the API ----------------------------------------------------------------------------

    def part_api(self):
        self.seed()
        token = self.bench_token()
        self.queries_and_plans(token)
        self.check_time("the load runs")
        port = free_port()
        server = self.gunicorn(port)
        try:
            wait_for_port(port)
            for clients in self.options["clients"]:
                self.load_block(port, token, clients)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    def bench_token(self):
        user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
        funder = Organisation.objects.get(name=f"{synthetic.ORGANISATION_PREFIX}funder 1")
        Membership.objects.get_or_create(user=user, organisation=funder, role=Role.DONOR_OFFICER)
        token, _ = Token.objects.get_or_create(user=user)
        return token.key

    def details(self):
        loan = Tranche.objects.filter(instrument=Tranche.Instrument.LOAN).order_by("pk").first()
        found = {
            "projects": Project.objects.order_by("pk").first(),
            "tranches": loan,
            "lapse-flags": LapseFlag.objects.order_by("pk").first(),
            "measurements": Measurement.objects.order_by("pk").first(),
        }
        return [f"/api/v1/{name}/{row.pk}/" for name, row in found.items() if row is not None]

    def queries_and_plans(self, token):
        """Per list: queries for a full page of 10 and of 50 rows (the same when the cost is
        fixed), and how PostgreSQL reads the page (an index, or a sort of the table)."""
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        get = {"secure": True, "HTTP_HOST": "localhost"}
        part = "API list pages"
        fixed, served = [], []
        for name, model in LISTS.items():
            queries, sorts = [], []
            for size in (10, 50):
                url = f"/api/v1/{name}/?page_size={size}"
                response, selects, count = reads(client, url, model._meta.db_table, **get)
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")
                queries.append(count)
                for sql in selects:
                    sorts += whole_table_sorts(explain(sql))
            fixed.append(queries[0] == queries[1])
            served.append(not sorts)
            rows = len(response.json()["results"])
            how = "index" if not sorts else f"SORTS by {sorts[0][0]} after reading {sorts[0][1]}"
            self.row(
                part,
                f"/{name}/ ({rows} rows)",
                f"{queries[0]} / {queries[1]} queries; {how}",
                "fixed; index",
                fixed[-1] and served[-1],
            )
        self.record("queries", "fixed on every list" if all(fixed) else "GROWS on some", all(fixed))
        self.record("plans", f"{sum(served)} of {len(LISTS)} lists", all(served))

    def gunicorn(self, port):
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
        }
        # Production's settings (gunicorn.conf.py, which gunicorn reads from the project's
        # folder) unless the run asks for others.
        workers, threads = self.options["web_workers"], self.options["web_threads"]
        chosen = [
            *(["--workers", str(workers)] if workers else []),
            *(["--threads", str(threads)] if threads else []),
        ]
        if workers is None:
            workers = production_workers()
        how = f"{threads} threads each" if threads and threads > 1 else "sync"
        self.say(
            f"   gunicorn: {workers} workers, {how} "
            f"({' '.join(chosen) or 'gunicorn.conf.py, as production runs'}) on 127.0.0.1:{port}"
        )
        return subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                *chosen,
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def load_block(self, port, token, clients):
        """Every endpoint, one after another, at `clients` concurrent clients, beside the
        floor. The machine's speed drifts (by half within one block, seen here), so where
        lists are judged against the floor (above 4 clients) the floor is measured between
        every two lists and each list is judged against the two runs either side of it;
        at 4 clients, first and last."""
        seconds = self.options["load_seconds"]
        part = f"API, {clients} clients, {seconds:g} s each"
        judged = clients > 4

        def measure(path):
            self.check_time(f"{path} at {clients} clients")
            return load(port, token, path, clients, seconds)

        floors = [measure(FLOOR)]
        self.row(part, f"floor {FLOOR}", str(floors[0]))
        lists, shares, details = [], [], []
        for name in LISTS:
            run = measure(f"/api/v1/{name}/?page_size=50")
            lists.append(run)
            if not judged:
                budget, holds = f"p99 < {LIST_P99_MS} ms", run.percentile(99) < LIST_P99_MS
                self.row(part, f"/{name}/", str(run), budget, holds and not run.errors)
                continue
            floors.append(measure(FLOOR))
            beside = (floors[-2].rate + floors[-1].rate) / 2
            share = run.rate / beside if beside else 0.0
            shares.append(share)
            budget, holds = f">= {FLOOR_SHARE}x floor", share >= FLOOR_SHARE
            self.row(
                part,
                f"/{name}/",
                f"{run}; {share:.2f}x the floor beside it ({beside:.0f} req/s)",
                budget,
                holds and not run.errors,
            )
        for path in self.details():
            run = measure(path)
            details.append(run)
            holds = run.percentile(99) < DETAIL_P99_MS if not judged else True
            budget = f"p99 < {DETAIL_P99_MS} ms" if not judged else "no errors"
            self.row(part, path, str(run), budget, holds and not run.errors)
        if not judged:
            floors.append(measure(FLOOR))
            self.row(part, f"floor {FLOOR} again", str(floors[-1]))
        floor = statistics.mean(run.rate for run in floors)
        low, high = min(run.rate for run in floors), max(run.rate for run in floors)
        self.row(
            part,
            f"floor {FLOOR}, {len(floors)} runs",
            f"mean {floor:.1f} req/s ({low:.0f}-{high:.0f})",
        )
        self.floors[clients] = floor
        self.summarise(clients, lists, shares, details)

    def summarise(self, clients, lists, shares, details):
        def where(run):
            return run.path.split("?")[0]

        slowest = max(lists, key=lambda run: run.percentile(99))
        p99 = slowest.percentile(99)
        if clients == 4:
            self.record("list_p99_4", f"{p99:.0f} ms ({where(slowest)})", p99 < LIST_P99_MS)
            if details:
                slow = max(details, key=lambda run: run.percentile(99))
                p99 = slow.percentile(99)
                self.record("detail_p99_4", f"{p99:.0f} ms ({where(slow)})", p99 < DETAIL_P99_MS)
        if clients == 16:
            share, worst = min(zip(shares, lists, strict=True), key=lambda pair: pair[0])
            self.record("ratio_16", f"{share:.2f} ({where(worst)})", share >= FLOOR_SHARE)
            self.record("list_p99_16", f"{p99:.0f} ms ({where(slowest)})", p99 < LIST_P99_16_MS)
            errors = sum(run.errors for run in lists + details)
            self.record("errors_16", str(errors), errors == 0)
        self.record("floor", " / ".join(f"{rate:.0f}" for rate in self.floors.values()))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"gunicorn did not answer on port {port}")


def load(port, token, path, clients, seconds, max_requests=20_000):
    """A closed loop: each client sends its next request when the last is answered, over one
    kept-alive connection, until the time is up or it has sent `max_requests`.

    Plain threads and http.client, so the generator costs little CPU beside the server on
    the same machine and needs nothing installed; each latency is measured on its own.
    """
    headers = {"Authorization": f"Token {token}", "Connection": "keep-alive"}
    run = Run(path, clients)
    lock = threading.Lock()
    for _ in range(2):  # warm each worker's code and connection
        one(port, path, headers)
    deadline = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, failed = [], 0
        for _ in range(max_requests):
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if ok:
                mine.append((time.perf_counter() - started) * 1000)
            else:
                failed += 1
        conn.close()
        with lock:
            run.latencies.extend(mine)
            run.errors += failed

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    run.seconds = time.monotonic() - started
    return run


def production_workers() -> int:
    """How many workers production's gunicorn.conf.py starts on this machine."""
    return runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))["workers"]


def one(port, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise CommandError(f"{path} answered {response.status}")
    finally:
        conn.close()
