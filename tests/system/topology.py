"""The production topology as separate OS processes: PostgreSQL, Redis, gunicorn, Celery.

System tests start what they need from here and reach the service over HTTP only. Every
process runs in its own process group, so stopping it stops its children too (gunicorn's
and Celery's workers), and nothing outlives the fixture that started it.
"""

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout, message, interval=0.2):
    """Poll `check` until it returns something truthy; return that, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except (requests.RequestException, OSError):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s: {message}")
        time.sleep(interval)


class Process:
    """One long-running program we started, with its output in a log file."""

    def __init__(self, name, argv, env, log_dir, cwd=ROOT):
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log_path = Path(log_dir) / f"{name}.log"
        self.popen = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(  # noqa: S603 - our own programs, fixed arguments
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() reaches its children
            )
        return self

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def children(self):
        """Process ids of its direct children (gunicorn's or Celery's workers)."""
        try:
            return {
                int(pid)
                for pid in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            }
        except OSError:
            return set()

    def signal_group(self, signum):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def kill(self):
        """Die at once, with no chance to clean up: a lost host, the OOM killer."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout=15):
        if self.popen is None:
            return
        if self.alive():
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self.signal_group(signal.SIGKILL)  # whatever is left of the group, children included
        if self.alive():
            self.popen.wait(timeout=10)

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, text, timeout=60):
        def seen():
            if not self.alive():
                raise AssertionError(f"{self.name} exited:\n{self.log()[-3000:]}")
            return text in self.log()

        wait_until(seen, timeout, f"{self.name} to log {text!r}:\n{self.log()[-3000:]}")


class RedisServer:
    """A Redis of our own on a free port, which a test may stop and start again.

    It keeps an append-only file, as a production broker should, so that messages queued
    before a restart are still there after it.
    """

    def __init__(self, work_dir):
        self.port = free_port()
        self.dir = Path(work_dir) / f"redis-{self.port}"
        self.dir.mkdir()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        argv = [
            shutil.which("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        self.process = Process(f"redis-{self.port}", argv, os.environ.copy(), self.dir).start()
        wait_until(self.answers, 20, f"Redis on port {self.port} to answer")
        return self

    def answers(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.process is not None:
            self.process.stop()


def postgres_bin(name):
    """A PostgreSQL server program (initdb, pg_ctl), newest installed version first."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return found[0] if found else shutil.which(name)


class PostgresCluster:
    """A throwaway PostgreSQL cluster of our own, which a test may restart.

    initdb refuses to run as root, so as root the cluster belongs to the postgres user.
    """

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="portfolio-pg-"))
        self.data = self.dir / "data"
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/portfolio"

    def _run(self, *argv, timeout=60):
        return subprocess.run(  # noqa: S603 - PostgreSQL's own programs, fixed arguments
            [*self.as_user, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            cwd=self.dir,
        )

    def _pg_ctl(self, *args):
        return self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args)

    def start(self):
        self._run(
            postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c max_connections=100"
        )
        self._pg_ctl("-o", options, "-l", str(self.dir / "server.log"), "start")
        self._run(
            postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "portfolio",
        )  # fmt: skip
        return self

    def restart(self):
        """Stop at once, cutting every connection and rolling back every open transaction,
        then start again: what a failover or a crashed server looks like to the service."""
        # With its own log file, or the server would hold our output pipe open.
        self._pg_ctl("-m", "immediate", "-l", str(self.dir / "server.log"), "restart")

    def stop(self):
        if self.data.exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def database_url(settings_dict):
    """The DATABASE_URL of a Django database (the test database, for the servers we start)."""
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


class Stack:
    """The service as production runs it: gunicorn, Celery workers and one beat, each a
    separate process sharing only the database, the broker and the media folder."""

    def __init__(self, database_url, redis_url, work_dir, **extra_env):
        self.work_dir = Path(work_dir)
        self.media = self.work_dir / "media"
        self.media.mkdir(exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on loopback: no TLS proxy in front here.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "MEDIA_ROOT": str(self.media),
            "CELERY_BROKER_DIR": str(self.work_dir / "unused-broker"),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        self.processes = {}

    def add(self, name, argv):
        process = Process(name, argv, self.env, self.work_dir)
        self.processes[name] = process
        return process.start()

    def web(self, workers=None, threads=None):
        """gunicorn with production's settings (gunicorn.conf.py), or the workers and threads
        a test asks for."""
        chosen = [
            *(["--workers", str(workers)] if workers else []),
            *(["--threads", str(threads)] if threads else []),
        ]
        process = self.add(
            "gunicorn",
            [
                str(BIN / "gunicorn"), "config.wsgi",
                "--bind", f"127.0.0.1:{self.port}",
                *chosen,
                "--graceful-timeout", "5",
            ],
        )  # fmt: skip
        wait_until(
            lambda: requests.get(f"{self.base_url}/healthz", timeout=5).status_code in (200, 503),
            60,
            f"gunicorn to answer:\n{process.log()[-3000:]}",
        )
        return process

    def worker(self, name):
        process = self.add(
            name,
            [
                str(BIN / "celery"), "-A", "config", "worker",
                "--hostname", f"{name}@%h",
                "--concurrency", "1",
                "--loglevel", "INFO",
                "--without-gossip", "--without-mingle",
            ],
        )  # fmt: skip
        process.wait_for_log(" ready.")
        return process

    def beat(self):
        schedule = self.work_dir / "celerybeat-schedule"
        process = self.add(
            "beat",
            [
                str(BIN / "celery"), "-A", "config", "beat",
                "--loglevel", "INFO",
                "--schedule", str(schedule),
            ],
        )  # fmt: skip
        process.wait_for_log("beat: Starting...")
        return process

    def manage(self, *args, timeout=120):
        """Run a management command as an operator would, against the same services."""
        return subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def stop(self):
        # All at once: each one's graceful shutdown then runs alongside the others'.
        for process in self.processes.values():
            if process.alive():
                process.signal_group(signal.SIGTERM)
        for process in self.processes.values():
            process.stop()

    def logs(self):
        return "\n".join(
            f"===== {name} =====\n{process.log()[-4000:]}"
            for name, process in self.processes.items()
        )


class Api:
    """A user of the REST API, signed in with their token."""

    def __init__(self, base_url, username, password=None, token=None):
        self.base_url = base_url
        self.session = requests.Session()
        if token is None:
            response = self.session.post(
                f"{base_url}/api/v1/auth/token/",
                json={"username": username, "password": password},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            token = response.json()["token"]
        self.token = token
        self.session.headers["Authorization"] = f"Token {token}"

    def again(self):
        """The same user on a connection of their own (one per thread)."""
        return Api(self.base_url, None, token=self.token)

    def url(self, path):
        return path if path.startswith("http") else f"{self.base_url}/api/v1/{path.lstrip('/')}"

    def get(self, path, **kwargs):
        return self.session.get(self.url(path), timeout=30, **kwargs)

    def post(self, path, data, **kwargs):
        return self.session.post(self.url(path), json=data, timeout=30, **kwargs)
