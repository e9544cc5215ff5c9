"""The committed DDL is stable text: pg_dump's banners go, indexes gather in one sorted block at the end."""

from dagster_project.lib.warehouse import schema_dump


def test_banners_go_and_indexes_are_sorted_at_the_end():
    dump = "\n".join([
        "-- Dumped from database version 16.4",
        "CREATE INDEX detections_name_idx ON marts.detections USING btree (name);",
        "CREATE TABLE marts.accounts (",
        "    id uuid NOT NULL",
        ");",
        "CREATE INDEX accounts_provider_id_idx ON marts.accounts USING btree (provider_id);",
    ])
    body, indexes = schema_dump.normalize(dump).split("-- Indexes\n", 1)
    assert "Dumped from" not in body and "CREATE TABLE marts.accounts (" in body
    assert indexes.splitlines() == [
        "CREATE INDEX accounts_provider_id_idx ON marts.accounts USING btree (provider_id);",
        "CREATE INDEX detections_name_idx ON marts.detections USING btree (name);",
    ]
