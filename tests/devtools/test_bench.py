"""manage.py bench reports as it goes: each figure at once, a failed or stopped part leaves the
others' figures, and the closing table sets every budget beside its figure before and now."""

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command

from devtools.management.commands import bench


def command(**options):
    out = StringIO()
    cmd = bench.Command(stdout=out)
    defaults = {
        "parts": "scan",
        "quick": False,
        "projects": 10_000,
        "tranches_per_project": 10,
        "scan_projects": 100_000,
        "import_rows": "2000,20000",
        "load_seconds": 6.0,
        "clients": "4,16",
        "web_workers": None,
        "web_threads": None,
    }
    cmd.options = cmd.sized(defaults | options)
    cmd.quick = cmd.options["quick"]
    cmd.after, cmd.held, cmd.outcomes, cmd.floors, cmd.seeded = {}, {}, {}, {}, None
    return cmd, out


def test_quick_mode_is_a_tenth_of_every_size_and_judges_nothing():
    cmd, out = command(quick=True)

    cmd.row("part", "figure", "1 s", "< 2 s", False)

    assert cmd.options["projects"] == 1_000 and cmd.options["scan_projects"] == 10_000
    assert cmd.options["import_rows"] == [200, 2_000]
    assert cmd.options["load_seconds"] <= 1
    assert "(quick)" in out.getvalue() and "OVER" not in out.getvalue()


def test_a_failed_part_leaves_the_other_parts_figures(monkeypatch):
    cmd, out = command()

    def broken():
        raise RuntimeError("the database went away")

    def measured():
        cmd.record("scan", "3.0 s at 100,000 projects", True)

    monkeypatch.setattr(cmd, "part_export", broken, raising=False)
    monkeypatch.setattr(cmd, "part_scan", measured, raising=False)
    cmd.run_part("export")
    cmd.run_part("scan")
    cmd.closing()

    assert cmd.outcomes == {
        "export": "failed: RuntimeError: the database went away",
        "scan": "done",
    }
    closing = out.getvalue().split("Budgets, before and now:")[1]
    assert "3.0 s at 100,000 projects" in closing and "holds" in closing
    assert "4 min 16 s" in closing  # the export's figure before, beside "not measured"


def test_the_load_runs_against_productions_gunicorn_unless_told_otherwise(monkeypatch):
    started = []
    monkeypatch.setattr(bench.subprocess, "Popen", lambda argv, **kw: started.append(argv))

    cmd, out = command()
    cmd.gunicorn(8123)
    asked, _ = command(web_workers=2, web_threads=4)
    asked.gunicorn(8124)

    production, issue = started
    assert "--workers" not in production and "--threads" not in production
    assert f"{bench.production_workers()} workers, sync" in out.getvalue()
    assert production[production.index("--bind") + 1] == "127.0.0.1:8123"
    assert issue[-4:] == ["--workers", "2", "--threads", "4"]


def test_every_budget_is_in_the_opening_table():
    cmd, out = command()

    cmd.budgets()

    for what, budget, before in bench.BUDGETS.values():
        assert what in out.getvalue() and budget in out.getvalue() and before in out.getvalue()


def test_a_parts_lines_are_relayed_as_they_come_and_a_part_past_its_time_is_stopped():
    cmd, out = command()
    cmd.deadline = time.monotonic() + 15  # Django starts slowly on a busy machine
    script = (
        "import json, time; print('measuring', flush=True); "
        "print(json.dumps({'part': 'p', 'figure': 'f', 'value': '1 s', 'budget': '< 2 s', "
        "'holds': True}), flush=True); time.sleep(60)"
    )

    started = time.monotonic()
    with pytest.raises(bench.Stopped):
        cmd.stream("slow", "shell", "-c", script)

    assert time.monotonic() - started < 45
    # The process never ended on its own: what was printed came while it ran.
    lines = out.getvalue().splitlines()
    assert "   [slow] measuring" in lines
    assert any(line.split()[:4] == ["p", "f", "1", "s"] and "holds" in line for line in lines)


@pytest.mark.django_db
def test_the_lapse_scan_bench_prints_figures_the_bench_tabulates():
    out = StringIO()

    call_command("bench_lapse_scan", "--projects", "12", "--json", stdout=out)

    rows = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    times = [row for row in rows if row["figure"].endswith(": time")]
    assert len(times) == 3
    assert all(bench.Command().figure(json.dumps(row)) for row in rows)
    assert all(row["value"].endswith(" s") and row["holds"] is True for row in times)


def test_the_import_figure_is_the_rows_per_second_column(monkeypatch):
    cmd, _ = command(parts="import")
    printed = [
        "    rows upload    wall s  CPU s  rows/s queries  result",
        "  20,000 new         7.49   6.30   2,670      69  created 20,000, updated 0",
        "  20,000 same        4.15   3.87   4,820      13  created 0, updated 0",
    ]
    monkeypatch.setattr(bench, "get_commands", lambda: {"bench_import": "devtools"})
    monkeypatch.setattr(cmd, "stream", lambda *args, **kwargs: printed)

    cmd.part_import()

    assert cmd.after["import"] == "20,000 rows in 7.5 s (2,670 rows/s)"
    assert cmd.held["import"] is True


def test_a_scan_stopped_after_its_scans_keeps_their_figures(monkeypatch):
    cmd, _ = command()
    scans = [
        {"part": "lapse scan", "figure": f"{label}: time", "value": value}
        for label, value in (("first", "56.9 s"), ("second", "38.2 s"), ("next day", "48.3 s"))
    ]

    def stopped_while_cleaning(*args, lines):
        lines.extend(json.dumps(row) for row in scans)
        raise bench.Stopped("manage.py bench_lapse_scan ran past its time limit")

    monkeypatch.setattr(cmd, "stream", stopped_while_cleaning)

    with pytest.raises(bench.Stopped):
        cmd.part_scan()

    assert cmd.after["scan"] == "56.9 s at 100,000 projects"
    assert cmd.held["scan"] is True


def test_each_list_is_judged_against_the_floor_measured_either_side_of_it(monkeypatch):
    cmd, out = command()
    # The machine speeds up through the block: the floor goes 100, 200, 300 requests a second.
    rates = iter([100, 60, 200, 90, 300])

    def load(port, token, path, clients, seconds):
        return bench.Run(path, clients, seconds=1.0, latencies=[10.0] * next(rates))

    monkeypatch.setattr(bench, "load", load)
    monkeypatch.setattr(bench, "LISTS", {"projects": None, "tranches": None})
    monkeypatch.setattr(cmd, "details", list)
    monkeypatch.setattr(cmd, "check_time", lambda what: None)

    cmd.load_block(port=0, token="", clients=16)

    # 60 beside (100 + 200) / 2 = 0.40; 90 beside (200 + 300) / 2 = 0.36; against the mean
    # of all the floor runs (200) they would have been 0.30 and 0.45.
    assert "0.40x the floor beside it (150 req/s)" in out.getvalue()
    assert "0.36x the floor beside it (250 req/s)" in out.getvalue()
    assert cmd.after["ratio_16"] == "0.36 (/api/v1/tranches/)"
    assert cmd.held["ratio_16"] is False
