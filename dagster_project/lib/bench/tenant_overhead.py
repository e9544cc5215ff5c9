"""What row-level security costs a BI query: the query patterns timed as the owner (no policies apply), as
bi_reader (every row, through the `using (true)` policy) and as a tenant role (its organization's rows only).

    python -m dagster_project.lib.bench.tenant_overhead URL TENANT_ROLE [PATTERN ...]

The parameters are sampled from the tenant's own data (its busiest account), so the three read the same rows
wherever the pattern names an account; an organization-wide pattern reads every organization as the owner and
bi_reader, and the tenant's only as the tenant. Prints a markdown table (docs/operations.md, "Tenants").
"""

from __future__ import annotations

import sys

import psycopg

from dagster_project.lib.bench import queries

DEFAULT_PATTERNS = ("account_top_gaps_by_risk", "detections_covering_technique_in_account", "account_scan_history",
                    "technique_coverage_history_in_account", "mappings_pending_review", "org_open_critical_gaps")


def main(argv: list[str]) -> int:
    url, tenant, *names = argv
    wanted = set(names or DEFAULT_PATTERNS)
    patterns = [p for p in queries.load_patterns() if p.name in wanted]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"set role {tenant}")
        params = queries.sample_params(conn)  # the tenant's busiest account, technique and days
        conn.execute("reset role")
        timings = {}
        for role in ("owner", "bi_reader", tenant):
            conn.execute("reset role" if role == "owner" else f"set role {role}")
            timings[role] = {r.name: r for r in queries.measure(conn, patterns, params, runs=30)}
        conn.execute("reset role")
    print(f"| pattern | owner p50 ms (rows) | bi_reader p50 ms | {tenant} p50 ms (rows) |\n| --- | --- | --- | --- |")
    for p in patterns:
        owner, reader, own = timings["owner"][p.name], timings["bi_reader"][p.name], timings[tenant][p.name]
        print(f"| {p.name} | {owner.p50_ms:.2f} ({owner.rows}) | {reader.p50_ms:.2f} | {own.p50_ms:.2f} ({own.rows}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
