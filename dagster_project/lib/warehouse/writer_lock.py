"""One writer at a time for the runs Dagster's run queue does not see.

Runs launched from the UI, the schedule or a backfill wait in the run queue (`dagster.yaml`: one run at a time).
`dagster asset materialize` (the demo, `dcv run`) and `execute_in_process` start at once; each holds this
PostgreSQL advisory lock on the warehouse database while its resources live: the whole run with the in-process
executor those commands use, each step with the multiprocess one. A second such run waits for the first to end
instead of interleaving its steps with it (two dbt builds at once failed with "relation ... already exists", and
a build reading another run's half-loaded day failed its relationship tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

# an arbitrary 64-bit key, the same for every process writing this warehouse ('dcv_writer' in ASCII, truncated)
LOCK_KEY = 0x6463765F77726974
HOLDER = """
select a.application_name, a.backend_start
from pg_locks as l join pg_stat_activity as a on a.pid = l.pid
where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())
    and l.classid = (%(key)s >> 32)::oid and l.objid = (%(key)s & 4294967295)::oid
"""


def acquire(url: str, holder: str, wait: Callable[[str], None] | None = None,
            poll_seconds: float = 1.0) -> psycopg.Connection:
    """A connection holding the writer lock (close it to release; a dead process's lock goes with its session).
    `holder` names this run in pg_stat_activity; `wait` is told, once, who holds the lock when it must wait."""
    conn = psycopg.connect(url, autocommit=True, application_name=holder[:63])
    try:
        told = False
        while not conn.execute("select pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
            if wait is not None and not told:
                row = conn.execute(HOLDER, {"key": LOCK_KEY}).fetchone()
                wait(f"waiting for the warehouse: {row[0] or 'another session'} has been writing since {row[1]}"
                     if row else "waiting for the warehouse: another run is writing")
                told = True
            time.sleep(poll_seconds)
    except BaseException:
        conn.close()
        raise
    return conn
