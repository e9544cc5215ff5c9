"""dbt's hashed index names become names that say what the index covers, so the artifact is stable."""

from dagster_project.lib.warehouse import schema_dump


def test_hashed_index_names_are_replaced_by_the_indexed_columns():
    dump = "\n".join([
        'CREATE INDEX "60d250524bead21ad2fc242207014e32" ON marts.detection_health_findings USING gin '
        "(metric_keys) WITH (fastupdate=off);",
        "CREATE INDEX d41d8cd98f00b204e9800998ecf8427e ON marts.detections USING gin "
        "(to_tsvector('english'::regconfig, (COALESCE(name, ''::character varying))::text));",
        "CREATE UNIQUE INDEX 0cc175b9c0f1b6a831c399e269772661 ON marts.accounts USING btree (account_id, provider);",
    ])
    assert schema_dump.normalize(dump).split("-- Indexes\n", 1)[1].splitlines() == [
        # storage parameters stay in the definition and out of the name
        "CREATE INDEX detection_health_findings_metric_keys_idx ON marts.detection_health_findings USING gin "
        "(metric_keys) WITH (fastupdate=off);",
        # nested parentheses stay whole; the name is cut to PostgreSQL's 63 characters
        "CREATE INDEX detections_to_tsvector_english_regconfig_coalesce_name_characte ON marts.detections USING gin "
        "(to_tsvector('english'::regconfig, (COALESCE(name, ''::character varying))::text));",
        "CREATE UNIQUE INDEX accounts_account_id_provider_uidx ON marts.accounts USING btree (account_id, provider);",
    ]
