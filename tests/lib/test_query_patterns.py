"""The query-pattern catalogue is well formed, names only marts relations of the generated DDL, and every
pattern plans and runs against a database built from schema/database-schema-v1.sql."""

from __future__ import annotations

import re
import subprocess
import uuid

import psycopg
import pytest
from psycopg import conninfo, sql

from dagster_project.lib import settings
from dagster_project.lib.bench import queries
from dagster_project.lib.warehouse import embedded

DDL_FILE = settings.PROJECT_ROOT / "schema" / "database-schema-v1.sql"
MARTS_REF = re.compile(r"\bmarts\.\"?([a-z_][a-z0-9_]*)")
FROM_JOIN = re.compile(r"\b(?:from|join)\s+(?:lateral\s+)?([a-z_][\w.]*|\()", re.IGNORECASE)
CTE_NAME = re.compile(r"\b(?:with|,)\s+([a-z_]\w*) as (?:materialized )?\(", re.IGNORECASE)


def _ddl_relations() -> set[str]:
    text = DDL_FILE.read_text()
    return set(re.findall(r"^CREATE (?:TABLE|VIEW|MATERIALIZED VIEW) marts\.(\w+)", text, re.MULTILINE))


@pytest.fixture(scope="module")
def patterns() -> list[queries.Pattern]:
    return queries.load_patterns()


@pytest.fixture(scope="module")
def ddl_url(warehouse_url):
    """A fresh database on the test server, built by running the generated DDL file."""
    name = f"qp_{uuid.uuid4().hex[:10]}"
    params = conninfo.conninfo_to_dict(warehouse_url)
    url = conninfo.make_conninfo(**{**params, "dbname": name})
    with psycopg.connect(warehouse_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        has_postgres_role = admin.execute("select 1 from pg_roles where rolname = 'postgres'").fetchone()
    script = "\n".join(
        line for line in DDL_FILE.read_text().splitlines()
        if not line.startswith("\\")  # psql meta-commands (e.g. \restrict in newer pg_dump output)
        and (has_postgres_role or not line.startswith("ALTER DEFAULT PRIVILEGES FOR ROLE postgres"))
    )
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(script)  # no parameters: simple protocol, many statements; the DO block makes the roles
            conn.execute("refresh materialized view marts.v_organization_coverage")
        yield url
    finally:
        with psycopg.connect(warehouse_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_catalogue_loads_with_unique_names_and_questions(patterns):
    assert len(patterns) >= 20
    names = [p.name for p in patterns]
    assert len(names) == len(set(names))
    for p in patterns:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p.name), p.name
        assert p.question and "\n" not in p.question, p.name
        assert p.sql.lower().startswith(("select", "with")), p.name
        assert set(p.params) <= set(queries.default_params()), (p.name, p.params)


def test_every_relation_is_a_schema_qualified_mart_of_the_ddl(patterns):
    relations = _ddl_relations()
    assert {"detections", "coverage_history", "v_account_coverage", "v_organization_coverage"} <= relations
    for p in patterns:
        used = set(MARTS_REF.findall(p.sql))
        assert used, p.name
        assert used <= relations, (p.name, used - relations)
        ctes = set(CTE_NAME.findall(p.sql))
        for target in FROM_JOIN.findall(p.sql):
            assert target == "(" or target.startswith("marts.") or target in ctes, (p.name, target)


def test_list_queries_are_bounded(patterns):
    for p in patterns:
        if not re.search(r"\blimit \d+\s*$", p.sql, re.IGNORECASE):
            # only one account's row of a per-account view may go without a LIMIT
            assert re.search(r"from marts\.v_\w+ \w+\s+where \w+\.account_id = :'account_id'$", p.sql), p.name


def test_the_empty_warehouse_has_no_marts_yet(db):
    # The migrated warehouse holds raw/app only; marts come from dbt, so the patterns need the DDL database.
    assert db.execute("select count(*) from pg_namespace where nspname = 'raw'").fetchone()[0] == 1


def test_every_pattern_plans_against_the_ddl(ddl_url, patterns):
    params = queries.default_params()
    params["account_id"] = uuid.uuid4()
    with psycopg.connect(ddl_url, autocommit=True) as conn:
        for p in patterns:
            args = {k: params[k] for k in p.params}
            plan = conn.execute("explain (format json) " + queries.psycopg_sql(p.sql), args).fetchone()[0]
            assert plan[0]["Plan"]["Node Type"], p.name
            assert isinstance(queries.plan_indexes(conn, p.sql, args), list)


def test_every_pattern_runs_as_pasted_into_psql(ddl_url, patterns):
    """What a reader pastes: the `\\set` lines and the SQL, run by psql, whose variables become untyped quoted
    literals (the server infers their types, as it must for a BI tool's literal too)."""
    params = {**queries.default_params(), "account_id": uuid.uuid4()}
    psql = embedded.bin_path("psql")
    for p in patterns:
        script = "\n".join([*queries.psql_set_lines(p.params, params), p.sql + ";"])
        done = subprocess.run([str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ddl_url], input=script,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, (p.name, done.stderr)


def test_measure_runs_every_pattern_and_renders(ddl_url, patterns):
    with psycopg.connect(ddl_url, autocommit=True) as conn:
        params = queries.sample_params(conn)  # empty marts: the defaults
        assert set(params) == set(queries.default_params())
        results = queries.measure(conn, patterns, params, runs=2)
    assert [r.name for r in results] == [p.name for p in patterns]
    assert all(r.rows == 0 and 0 <= r.p50_ms <= r.p95_ms for r in results)
    text = queries.render_markdown(results, "Empty schema.", params)
    assert text.startswith("# Query patterns\n\nEmpty schema.\n")
    for p in patterns:
        assert f"## {p.name}\n" in text and p.sql.strip() in text
        assert "```sql\n" + "\n".join(queries.psql_set_lines(p.params, params)) in text, p.name
    assert text == queries.render_markdown(results, "Empty schema.", params)


def test_data_dictionary_documents_every_mart_and_source(dbt_manifest):
    from dagster_project.lib import docs_gen

    text = docs_gen.data_dictionary(dbt_manifest)
    assert docs_gen.HEADER in text
    for relation in _ddl_relations():
        assert f"### marts.{relation}\n" in text, relation
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        assert "- **Expected volume:** not estimated" not in section, section.splitlines()[0]
    assert "- **Foreign key:** (account_id) → marts.accounts(id)" in text
    assert "(platforms) gin" in text
    assert "### raw.detection_presence\n" in text and "### app.gap_triage\n" in text
    assert text == docs_gen.data_dictionary(dbt_manifest)  # deterministic
