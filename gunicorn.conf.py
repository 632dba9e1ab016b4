"""The web process's gunicorn settings, production's and the benchmark's alike: gunicorn reads
this file itself when `gunicorn config.wsgi` starts in this folder."""

import os

# Sync workers, each serving one request at a time, twice the cores and one more (gunicorn's
# own advice), behind a proxy that buffers slow clients. Measured on 2 cores at 16 clients
# (issue 23): as many requests a second as 2 workers x 4 threads, and each 50-row list's p99
# under half (80-130 ms, not 190-310): threads of one process take turns on one interpreter
# lock, so each request also waits on the others' Python work.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * len(os.sched_getaffinity(0)) + 1))
