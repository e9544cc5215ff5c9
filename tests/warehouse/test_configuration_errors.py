"""Bad configuration stops with one line saying what is wrong and what to set — never a bare stack trace."""

import os
import socket
import subprocess
import sys

import psycopg
import pytest
from psycopg import conninfo

from dagster_project.lib.warehouse import connection


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_database_url():
    url = f"postgresql://someone:secret@127.0.0.1:{_closed_port()}/dcv"
    with pytest.raises(connection.WarehouseConfigError) as err:
        connection.connect(url)
    assert "cannot reach PostgreSQL at 127.0.0.1" in str(err.value)
    assert "DCV_DATABASE_URL" in str(err.value)
    assert "secret" not in str(err.value)


def test_wrong_password(pg_server_url):
    params = conninfo.conninfo_to_dict(pg_server_url)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute("drop role if exists dcv_pw_test")
        conn.execute("create role dcv_pw_test login password 'right-one'")
    port = params["port"]
    url = f"postgresql://dcv_pw_test:wrong-one@127.0.0.1:{port}/postgres"
    with pytest.raises(connection.WarehouseConfigError) as err:
        connection.connect(url)
    message = str(err.value)
    assert "rejected the password for user dcv_pw_test" in message
    assert "wrong-one" not in message


def test_cli_prints_one_line_and_exit_code_2(tmp_path):
    env = {**os.environ, "DCV_DATABASE_URL": f"postgresql://u:pw@127.0.0.1:{_closed_port()}/dcv",
           "DCV_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "dagster_project.cli", "db", "migrate"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dcv: error: cannot reach PostgreSQL"), done.stderr
    assert "Traceback" not in done.stderr and "pw@" not in done.stderr


def test_redact_hides_passwords():
    assert connection.redact("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert "s3cret" not in connection.redact("host=h password=s3cret dbname=x")
