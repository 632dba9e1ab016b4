"""The suite's xdist groups (tests/conftest.py) only keep tests apart if pytest-xdist honours
them: with pytest 9.2 and pytest-xdist 3.8 it silently did not (pytest-xdist issue #1386), and
tests sharing Redis, servers and Celery workers ran side by side. This runs a small grouped
module under `--dist loadgroup`, as `make test` does, and checks one worker ran the group."""

import os
import subprocess
import sys

GROUPED = """
import os, pytest

@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    with open(os.path.join(os.environ["GROUP_OUT"], f"ran-{n}"), "w") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "none.ini").write_text("[pytest]\n")  # none of the project's settings
    run = subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable, "-m", "pytest", "-q", "-n", "3", "--dist", "loadgroup",
            "-p", "no:django", "-p", "no:cacheprovider", "-c", str(tmp_path / "none.ini"),
            "--rootdir", str(tmp_path),
            str(tmp_path / "test_grouped.py"),
        ],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "GROUP_OUT": str(tmp_path)},
    )  # fmt: skip

    assert run.returncode == 0, run.stdout + run.stderr
    workers = {path.read_text() for path in tmp_path.glob("ran-*")}
    assert len(list(tmp_path.glob("ran-*"))) == 6
    assert len(workers) == 1, workers
