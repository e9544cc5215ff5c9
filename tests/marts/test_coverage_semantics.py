"""Coverage semantics (docs/coverage-semantics.md) on a real build: a small sample organization through raw
storage, the parser and dbt on ATT&CK 18.1; then people's review state through a full rebuild."""

from datetime import date, timedelta

import pytest

from dagster_project.defs.detections.collect import export_scans
from dagster_project.lib import sample_org, settings
from dagster_project.lib.detections.store import store_partition
from dagster_project.lib.parsing.store import parse_pending
from dagster_project.lib.warehouse import scratch

DAY1 = date(2026, 3, 1)
DAY2 = DAY1 + timedelta(days=1)


def _scan_day(url, export_dir, day):
    # seed 5: among its detections, a metric filter whose only alarm cannot alert and one covering T1485.001
    sample_org.write_export(export_dir, accounts=2, detections_per_account=40, seed=5, day=day)
    import psycopg

    with psycopg.connect(url) as conn:
        store_partition(conn, day, export_scans(export_dir, []))
        parse_pending(conn)
    scratch.dbt(url, "build", "--quiet", "--exclude", "resource_type:seed",
                window=(day, day))


@pytest.fixture(scope="module")
def built(shared_dir, dbt_manifest, warehouse_url, tmp_path_factory):
    scratch.load_attack(warehouse_url, settings.load())
    scratch.dbt(warehouse_url, "seed", "--quiet")
    export_dir = tmp_path_factory.mktemp("export")
    for day in (DAY1, DAY2):
        _scan_day(warehouse_url, export_dir, day)
    return export_dir


def test_every_scan_day_has_scores_and_coverage(built, db):
    days = db.execute("select distinct calculated_at::date from marts.coverage_scores order by 1").fetchall()
    assert days == [(DAY1,), (DAY2,)]
    covered = db.execute("select count(*) from marts.coverage_history where is_covered").fetchone()[0]
    assert covered > 0
    bad = db.execute("select count(*) from marts.coverage_scores where covered_techniques > total_techniques")
    assert bad.fetchone()[0] == 0


def test_every_mart_table_has_planner_statistics_when_the_build_ends(built, db):
    """BI queries straight after a build must not be planned from guesses (autovacuum comes up to a minute
    later): every mart table is analyzed by the build that created it."""
    unanalyzed = db.execute("""select s.relname from pg_stat_user_tables as s
                               where s.schemaname = 'marts' and s.last_analyze is null
                                 and s.relname not like '%%dbt_tmp%%' order by 1""").fetchall()
    assert unanalyzed == []


def test_the_organization_trend_is_the_days_scores_rolled_up(built, db):
    """coverage_org_daily (what the 30-day trend reads) holds, per scan day, exactly what aggregating that day's
    coverage_scores gives."""
    direct = db.execute("""select calculated_at, count(distinct account_id)::integer, round(avg(coverage_percentage), 2),
                                  min(coverage_percentage)
                           from marts.coverage_scores group by 1 order by 1""").fetchall()
    rolled = db.execute("""select calculated_at, accounts, avg_tactic_coverage_percentage, min_tactic_coverage_percentage
                           from marts.coverage_org_daily order by 1""").fetchall()
    assert [row[0].date() for row in rolled] == [DAY1, DAY2]
    assert rolled == direct


@pytest.mark.parametrize(("mart", "day_column"), [("coverage_scores", "calculated_at"),
                                                  ("coverage_history", '"timestamp"')])
def test_the_latest_day_is_planned_from_its_rows(built, db, mart, day_column):
    """A daily run appends a day the table's statistics have never seen; "on the latest day" queries must not be
    planned as if it held one row (macros/analyze_new_table.sql)."""
    actual = db.execute(f"select count(*) from marts.{mart} where {day_column} = %s", (DAY2,)).fetchone()[0]
    plan = db.execute(f"explain (format json) select * from marts.{mart} where {day_column} = %s",
                      (DAY2,)).fetchone()[0]
    assert actual > 10
    assert plan[0]["Plan"]["Plan Rows"] > actual / 3


def test_no_parent_is_covered_through_one_subtechnique(built, db):
    """A covered parent has a counting detection mapped to itself, or all of its in-scope (IaaS) subs covered."""
    false_parents = db.execute("""
        select h.attack_technique_id from marts.coverage_history as h
        inner join marts.mitre_techniques as t on h.technique_id = t.id
        where h.is_covered and not t.is_subtechnique
          and not exists (select from marts.detection_mappings as m inner join marts.detections as d
                          on m.detection_id = d.id where d.account_id = h.account_id and m.technique_id = t.id)
          and exists (select from marts.mitre_techniques as s where s.parent_technique_id = t.technique_id
                        and s.version_id = t.version_id and not s.is_revoked and not s.is_deprecated
                        and 'IaaS' = any(s.platforms)
                        and not exists (select from marts.coverage_history as hs where hs.account_id = h.account_id
                                        and hs.technique_id = s.id and hs.timestamp = h.timestamp
                                        and hs.is_covered))""").fetchall()
    assert false_parents == []
    shown_covered = db.execute("""select count(*) from marts.coverage_history
                                  where is_covered and coverage_score < 1""").fetchone()[0]
    assert shown_covered == 0  # partial credit stays below 1 and is never flagged covered


def test_a_parents_only_in_scope_subtechnique_covers_half_of_it(built, db):
    """T1485 Data Destruction has one IaaS sub-technique (T1485.001, lifecycle-triggered deletion): where only
    that variant is covered, the parent is half covered, never covered."""
    rows = db.execute("""
        select p.is_covered, p.coverage_score, count(*) from marts.coverage_history as s
        inner join marts.coverage_history as p
            on p.account_id = s.account_id and p."timestamp" = s."timestamp" and p.attack_technique_id = 'T1485'
        where s.attack_technique_id = 'T1485.001' and s.is_covered
          and not exists (select from marts.detection_mappings as m
                          inner join marts.detections as d on m.detection_id = d.id
                          where d.account_id = p.account_id and m.technique_id = p.technique_id
                            and m.confidence_score >= 0.6)
        group by 1, 2""").fetchall()
    assert rows, "the sample organization covers T1485.001 (PutBucketLifecycle) somewhere"
    assert [(covered, float(score)) for covered, score, _ in rows] == [(False, 0.5)]


def test_aws_scope_is_what_aws_detections_can_see(built, db):
    """Every AWS gap and every scored technique is one ATT&CK lists on IaaS: phishing, drive-by compromise,
    chat messages and other SaaS / Office Suite / Identity Provider-only techniques are not AWS gaps."""
    outside = db.execute("""
        select distinct t.technique_id from marts.coverage_gaps as g
        inner join marts.mitre_techniques as t on g.technique_id = t.id
        where not ('IaaS' = any(t.platforms))
        union
        select distinct t.technique_id from marts.coverage_history as h
        inner join marts.mitre_techniques as t on h.technique_id = t.id
        where not ('IaaS' = any(t.platforms))""").fetchall()
    assert outside == []
    gaps = {row[0] for row in db.execute("""select t.technique_id from marts.coverage_gaps as g
                                            inner join marts.mitre_techniques as t on g.technique_id = t.id""")}
    assert len(gaps) > 50  # the sample organization covers a fraction of the IaaS techniques
    assert not {"T1566", "T1566.002", "T1189", "T1213.004"} & gaps


def test_a_metric_filter_counts_only_through_an_alarm_that_can_alert(built, db):
    """Health says broken, naming the alarm, for every filter whose metric is watched only by alarms with no
    actions or ActionsEnabled=false; a filter with one alerting alarm is not broken by that."""
    pairs = db.execute("""
        select f.id, f.name, h.status, h.error_details,
               bool_or((a.raw_config -> 'api_object' ->> 'ActionsEnabled') <> 'false'
                       and jsonb_array_length(a.raw_config -> 'api_object' -> 'AlarmActions') > 0) as can_alert
        from marts.detections as f
        inner join marts.detection_types as ft on f.detection_type_id = ft.id and ft.type_name = 'metric_filter'
        inner join marts.detection_health as h on h.detection_id = f.id
        cross join lateral jsonb_array_elements(f.raw_config -> 'api_object' -> 'metricTransformations') as m (t)
        inner join marts.detections as a
            on a.account_id = f.account_id and a.region = f.region and a.is_current
            and a.raw_config -> 'api_object' ->> 'MetricName' = m.t ->> 'metricName'
            and a.raw_config -> 'api_object' ->> 'Namespace' = m.t ->> 'metricNamespace'
        where f.is_current
        group by 1, 2, 3, 4""").fetchall()
    silent = [p for p in pairs if not p[4]]
    assert silent, "the sample organization has alarms that cannot alert"
    for _, name, status, details, _ in silent:
        assert status == "broken" and "no alarm on its metric can alert" in details, name
    for _, name, _, details, _ in pairs:
        if details and "no alarm on its metric can alert" in details:
            assert any(p[1] == name and not p[4] for p in silent), name
    quiet = db.execute("""select count(*) from marts.detection_health
                          where status <> 'healthy' and error_details like '%%not triggered%%'""").fetchone()[0]
    assert quiet == 0, "not firing for 30 days is information, not degradation"


def test_guardduty_families_are_not_api_drift(built, db):
    """Every enabled detector with CloudTrail on carries the family Recon:IAMUser/, which also holds retired
    finding types: drift is flagged only where a configuration names something retired."""
    flagged = db.execute("""
        select count(*) from marts.detection_health_findings as h
        inner join marts.detections as d on h.detection_id = d.id
        inner join marts.detection_types as ty on d.detection_type_id = ty.id
        where ty.type_name = 'guardduty_detector' and h.api_drift_detected""").fetchone()[0]
    assert flagged == 0


def test_disabled_and_low_confidence_detections_never_count(built, db):
    counted = db.execute("""
        select count(*) from marts.coverage_history as h
        where h.detection_count > 0 and h.is_covered and not exists (
            select from marts.detections as d
            inner join marts.detection_mappings as m on m.detection_id = d.id
            inner join marts.detection_types as ty on d.detection_type_id = ty.id
            inner join marts.mitre_techniques as t on m.technique_id = t.id
            where d.account_id = h.account_id and d.valid_from <= h.timestamp::date
              and (d.valid_to is null or d.valid_to > h.timestamp::date)
              and (d.raw_config -> 'api_object' ->> 'State' is distinct from 'DISABLED')
              and (m.confidence_score >= 0.6 or m.validation_status = 'validated')
              and (t.id = h.technique_id or t.parent_technique_id = h.attack_technique_id))""").fetchone()[0]
    assert counted == 0


def test_drift_between_the_two_days(built, db):
    drift = db.execute("""select sum(detections_added + detections_removed + detections_modified)
                          from marts.scan_snapshots where scan_day = %s""", (DAY2,)).fetchone()[0]
    assert drift > 0


def test_rerunning_a_day_replaces_it(built, db, warehouse_url):
    before = db.execute("select count(*) from marts.coverage_history").fetchone()[0]
    _scan_day(warehouse_url, built, DAY2)
    assert db.execute("select count(*) from marts.coverage_history").fetchone()[0] == before


# incremental table -> the key its rows are ordered by
INCREMENTAL_TABLES = {"marts.detections": "t.id", "marts.detection_logic": "t.id", "marts.detection_mappings": "t.id",
                      "marts.detection_health_findings": "t.detection_id",
                      "marts.content_technique_mappings": "t.content_hash, t.technique_id",
                      "intermediate.int_detection_techniques_counted": "t.detection_id, t.technique_id"}


def _fingerprints(db) -> dict[str, str]:
    return {m: db.execute(f"select md5(string_agg(t::text, '|' order by {key})) from {m} as t").fetchone()[0]
            for m, key in INCREMENTAL_TABLES.items()}


def test_daily_merge_equals_a_full_rebuild(built, db, warehouse_url):
    """The big marts are merged, not rebuilt, on a daily run: people's verdicts still apply (a rejected mapping
    is deleted, a validated one updated) and the result is row for row what a full rebuild gives."""
    (acct1, native1, tech1), (acct2, native2, tech2) = db.execute(
        """select d.account_identifier, d.native_id, m.attack_technique_id from marts.detection_mappings as m
           inner join marts.detections as d on m.detection_id = d.id
           where d.is_current and m.mapping_method = 'pattern_match'
           order by d.native_id desc, m.attack_technique_id desc limit 2""").fetchall()
    db.execute("""insert into app.mapping_verdicts (account_id, native_id, technique_id, verdict)
                  values (%s, %s, %s, 'rejected'), (%s, %s, %s, 'validated')""",
               (acct1, native1, tech1, acct2, native2, tech2))
    _scan_day(warehouse_url, built, DAY2)
    verdicts = dict(db.execute("""select d.native_id, m.validation_status from marts.detection_mappings as m
                                  inner join marts.detections as d on m.detection_id = d.id
                                  where d.is_current and (d.native_id, m.attack_technique_id) in ((%s, %s), (%s, %s))""",
                               (native1, tech1, native2, tech2)).fetchall())
    assert verdicts == {native2: "validated"}
    merged = _fingerprints(db)
    scratch.dbt(warehouse_url, "build", "--quiet", "--full-refresh", "--exclude", "resource_type:seed",
                window=(DAY2, DAY2))
    assert _fingerprints(db) == merged


def _daily_run(url, *args):
    scratch.dbt(url, "run", "--quiet", "--exclude", "resource_type:seed", *args, window=(DAY2, DAY2))


def test_daily_run_computes_only_changed_detections_until_people_change_one(built, db, warehouse_url):
    """A daily build computes a detection again only when a load or a parse changed it
    (macros/detection_scope.sql): a row nothing changed is not even read. A change to people's attributes is
    fingerprinted, so the next build computes everything once and the owner reaches the mart."""
    _daily_run(warehouse_url)
    key, account, native_id, name = db.execute(
        """select detection_key, account_identifier, native_id, name from intermediate.int_detections_assembled
           where is_current order by detection_key limit 1""").fetchone()
    # a stand-in for work a scoped run must skip: a daily run that read this detection would restore its name
    db.execute("update intermediate.int_detections_assembled set name = 'not computed again' "
               "where detection_key = %s", (key,))
    _daily_run(warehouse_url)
    assert db.execute("select name from intermediate.int_detections_assembled where detection_key = %s and "
                      "is_current", (key,)).fetchone() == ("not computed again",)

    db.execute("insert into app.detection_attributes (account_id, native_id, owner) values (%s, %s, 'secops')",
               (account, native_id))
    _daily_run(warehouse_url)
    assert db.execute("select name, owner from marts.detections where detection_key = %s and is_current",
                      (key,)).fetchone() == (name, "secops")
    merged = _fingerprints(db)
    scratch.dbt(warehouse_url, "run", "--quiet", "--full-refresh", "--exclude", "resource_type:seed",
                window=(DAY2, DAY2))
    assert _fingerprints(db) == merged


def test_a_configuration_parsed_again_reaches_its_detections_on_the_daily_run(built, db, warehouse_url):
    """A parse of a configuration already in use (a parser upgrade) changes its detections' logic and mappings
    on the next daily run, though no load changed them; the result equals a full rebuild."""
    _daily_run(warehouse_url)
    content_hash, parsed_at = db.execute(
        """select l.content_hash, l.parsed_at from marts.detection_logic as l
           inner join marts.content_technique_mappings as c on l.content_hash = c.content_hash
           order by l.content_hash limit 1""").fetchone()
    db.execute("delete from raw.detection_logic where content_hash = %s", (content_hash,))
    parse_pending(db)
    _daily_run(warehouse_url)
    stamps = db.execute("select distinct parsed_at from marts.detection_logic where content_hash = %s",
                        (content_hash,)).fetchall()
    assert len(stamps) == 1 and stamps[0][0] > parsed_at
    merged = _fingerprints(db)
    scratch.dbt(warehouse_url, "run", "--quiet", "--full-refresh", "--exclude", "resource_type:seed",
                window=(DAY2, DAY2))
    assert _fingerprints(db) == merged


def test_content_mappings_follow_new_parses_and_knowledge_changes(built, db, warehouse_url):
    """content_technique_mappings maps, on a daily run, only what was parsed since its last build; rows built
    with other knowledge are all remapped. Either way the table equals a full rebuild."""
    def ctm(*args):
        scratch.dbt(warehouse_url, "run", "--quiet", "--select", "content_technique_mappings", *args)
        return _fingerprints(db)["marts.content_technique_mappings"]

    ctm("--full-refresh")
    content_hash = db.execute("select content_hash from marts.content_technique_mappings "
                              "order by content_hash limit 1").fetchone()[0]
    # the configuration is parsed again (as after a parser upgrade) and its old mappings are lost
    db.execute("delete from raw.detection_logic where content_hash = %s", (content_hash,))
    db.execute("delete from marts.content_technique_mappings where content_hash = %s", (content_hash,))
    parse_pending(db)
    daily = ctm()
    assert db.execute("select count(*) from marts.content_technique_mappings where content_hash = %s",
                      (content_hash,)).fetchone()[0] > 0
    # rows matched against other knowledge (an older indicator set) do not survive the next run: all are remapped
    db.execute("update marts.content_technique_mappings set knowledge_fingerprint = gen_random_uuid(), "
               "confidence_score = case when content_hash = %s then 0.01 else confidence_score end",
               (content_hash,))
    assert ctm() == daily == ctm("--full-refresh")


def test_review_state_survives_a_full_refresh(built, db, warehouse_url):
    gap = db.execute("""select a.account_identifier, g.attack_technique_id from marts.coverage_gaps as g
                        inner join marts.accounts as a on g.account_id = a.id where g.status = 'open'
                        order by g.risk_score desc limit 1""").fetchone()
    mapping = db.execute("""select d.account_identifier, d.native_id, m.attack_technique_id
                            from marts.detection_mappings as m inner join marts.detections as d
                            on m.detection_id = d.id where d.is_current and m.mapping_method = 'pattern_match'
                            order by d.native_id, m.attack_technique_id limit 2""").fetchall()
    db.execute("""insert into app.gap_triage (account_id, technique_id, attack_version, status, note)
                  values (%s, %s, '18.1', 'accepted_risk', 'compensating control')""", gap)
    (acct1, native1, tech1), (acct2, native2, tech2) = mapping
    db.execute("""insert into app.mapping_verdicts (account_id, native_id, technique_id, verdict)
                  values (%s, %s, %s, 'rejected'), (%s, %s, %s, 'validated')""",
               (acct1, native1, tech1, acct2, native2, tech2))
    scratch.dbt(warehouse_url, "build", "--quiet", "--full-refresh", "--exclude", "resource_type:seed",
                window=(DAY1, DAY2))
    status = db.execute("""select g.status, g.triage_note from marts.coverage_gaps as g
                           inner join marts.accounts as a on g.account_id = a.id
                           where a.account_identifier = %s and g.attack_technique_id = %s""", gap).fetchone()
    assert status == ("accepted_risk", "compensating control")
    verdicts = dict(db.execute("""select d.native_id, m.validation_status from marts.detection_mappings as m
                                  inner join marts.detections as d on m.detection_id = d.id
                                  where d.is_current and (d.native_id, m.attack_technique_id) in ((%s, %s), (%s, %s))""",
                               (native1, tech1, native2, tech2)).fetchall())
    assert verdicts == {native2: "validated"}  # the rejected mapping is gone, the other validated
