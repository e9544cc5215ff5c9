"""The embedded PostgreSQL: starts, is reused, stops cleanly, keeps data, and refuses bad set-ups clearly."""

import os
import socket
import time

import psycopg
import pytest

from dagster_project.lib.warehouse import embedded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pgdata(tmp_path):
    return tmp_path / "home" / "pgdata"


def test_start_reuse_stop_keeps_data(pgdata):
    port = _free_port()
    started = time.perf_counter()
    server = embedded.start(pgdata, port)
    first_start = time.perf_counter() - started
    try:
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute("create table kept (v int); insert into kept values (42)")
        again = embedded.start(pgdata, port)
        assert again.pid == server.pid, "a second start must reuse the running server"
        assert embedded.stop(pgdata) is True
        assert embedded.status(pgdata) is None
        restarted = embedded.start(pgdata, port)
        with psycopg.connect(restarted.url("postgres")) as conn:
            assert conn.execute("select v from kept").fetchone() == (42,)
        # TCP on loopback answers too (BI tools connect that way)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        embedded.stop(pgdata)
    print(f"embedded PostgreSQL first start (initdb + start): {first_start:.2f}s")
    assert embedded.stop(pgdata) is False


def test_port_in_use_is_one_clear_line(pgdata):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(embedded.EmbeddedServerError) as err:
            embedded.start(pgdata, port)
    message = str(err.value)
    assert f"port {port}" in message and "DCV_PG_PORT" in message
    assert "\n" not in message
    assert (pgdata / "PG_VERSION").exists(), "the initialized data directory must be kept"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the directory to another user")
def test_data_directory_owned_by_someone_else(pgdata):
    pgdata.mkdir(parents=True)
    (pgdata / "precious.txt").write_text("keep me")
    os.chown(pgdata, 65534, 65534)  # nobody
    with pytest.raises(embedded.EmbeddedServerError) as err:
        embedded.start(pgdata, _free_port())
    assert "owned by" in str(err.value) and "DCV_HOME" in str(err.value)
    assert (pgdata / "precious.txt").read_text() == "keep me"


def test_busy_default_port_moves_to_a_free_one_and_remembers_it(pgdata):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        default = busy.getsockname()[1]
        try:
            server = embedded.start(pgdata, None, default_port=default)
            assert server.port != default
            embedded.stop(pgdata)
            assert embedded.start(pgdata, None, default_port=default).port == server.port
        finally:
            embedded.stop(pgdata)
