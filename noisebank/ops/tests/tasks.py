"""Tasks the worker tests enqueue (importable by a `noisebank worker` process)."""

import os
import time

from django.db import connection
from django_tasks import task

RUNS_TABLE = "ops_test_task_runs"
INSERT_RUN = "INSERT INTO ops_test_task_runs (n, pid) VALUES (%s, %s)"
PROCESSES_GATHERED = "SELECT COUNT(DISTINCT pid) FROM ops_test_task_runs WHERE n < %s"


@task()
def record_run(n: int, gather: int = 0) -> int:
    """Note that task n ran, and in which process. The first `gather` tasks each wait until
    `gather` different processes hold one: proof that the workers run side by side."""
    with connection.cursor() as cursor:
        cursor.execute(INSERT_RUN, [n, os.getpid()])
    if n < gather:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(PROCESSES_GATHERED, [gather])
                if cursor.fetchone()[0] >= gather:
                    break
            time.sleep(0.05)
    return n


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def hold(n: int, until: str) -> int:
    """Note the run like record_run, then keep running until the file `until` exists (at most
    two minutes): a task to kill a worker in the middle of."""
    with connection.cursor() as cursor:
        cursor.execute(INSERT_RUN, [n, os.getpid()])
    deadline = time.monotonic() + 120
    while not os.path.exists(until) and time.monotonic() < deadline:
        time.sleep(0.05)
    return n
