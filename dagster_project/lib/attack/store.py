"""Writes to raw and app: a version is replaced whole in one transaction, or skipped when its sha256 matches.

The active version is switched only by `activate` (the `dcv attack activate` command). The one implicit
activation: when nothing is active yet, the newest version of the first load becomes active, so a fresh
warehouse is usable; later loads never move it.
"""

from __future__ import annotations

import json

import psycopg

from dagster_project.lib.attack.bundle import Bundle, external_id
from dagster_project.lib.attack.knowledge import KnowledgeDocument
from dagster_project.lib.warehouse import loader

OBJECT_COLUMNS = ["attack_version", "stix_id", "stix_type", "external_id", "payload"]
QUARANTINE_SOURCE = "attack_bundle"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def load_bundle(conn: psycopg.Connection, bundle: Bundle) -> str:
    """'unchanged' | 'loaded' | 'replaced' — atomically; a reader sees the old version or the new one."""
    with conn.transaction():
        row = conn.execute("select sha256 from raw.attack_bundles where attack_version = %s for update",
                           (bundle.attack_version,)).fetchone()
        if row and row[0] == bundle.sha256:
            return "unchanged"
        conn.execute("delete from raw.attack_bundles where attack_version = %s", (bundle.attack_version,))
        conn.execute(
            "insert into raw.attack_bundles (attack_version, domain, spec_version, source, sha256, object_counts,"
            " release_date) values (%s, %s, %s, %s, %s, %s, %s)",
            (bundle.attack_version, bundle.domain, bundle.spec_version, bundle.source, bundle.sha256,
             json.dumps(bundle.counts), bundle.release_date),
        )
        loader.copy_rows(conn, "raw.attack_objects", OBJECT_COLUMNS,
                         ((bundle.attack_version, o["id"], o["type"], external_id(o), o) for o in bundle.objects))
    return "replaced" if row else "loaded"


def load_knowledge(conn: psycopg.Connection, doc: KnowledgeDocument, knowledge_source: str) -> str:
    with conn.transaction():
        row = conn.execute("select sha256 from raw.knowledge_documents where source_file = %s for update",
                           (doc.source_file,)).fetchone()
        if row and row[0] == doc.sha256:
            return "unchanged"
        conn.execute("delete from raw.knowledge_documents where source_file = %s", (doc.source_file,))
        conn.execute("insert into raw.knowledge_documents (source_file, knowledge_source, source, sha256, metadata)"
                     " values (%s, %s, %s, %s, %s)",
                     (doc.source_file, knowledge_source, doc.source, doc.sha256, json.dumps(doc.metadata)))
        loader.copy_rows(conn, "raw.knowledge_objects", ["source_file", "ordinal", "payload"],
                         ((doc.source_file, i, o) for i, o in enumerate(doc.objects)))
    return "replaced" if row else "loaded"


def active_version(conn: psycopg.Connection) -> str | None:
    row = conn.execute("select attack_version from app.attack_active_version").fetchone()
    return row[0] if row else None


def loaded_versions(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute("select attack_version from raw.attack_bundles").fetchall()
    return sorted((r[0] for r in rows), key=version_key)


def activate(conn: psycopg.Connection, version: str, note: str | None = None) -> str | None:
    """Make `version` (already loaded) the active one; returns the previous active version."""
    with conn.transaction():
        if version not in loaded_versions(conn):
            raise ValueError(f"ATT&CK {version} is not loaded (loaded: {', '.join(loaded_versions(conn)) or 'none'})")
        previous = active_version(conn)
        conn.execute(
            "insert into app.attack_active_version (singleton, attack_version, note) values (true, %s, %s)"
            " on conflict (singleton) do update set attack_version = excluded.attack_version,"
            " note = excluded.note, activated_by = current_user, activated_at = now()",
            (version, note),
        )
        conn.execute("insert into app.attack_activation_log (attack_version, previous_version, note)"
                     " values (%s, %s, %s)", (version, previous, note))
    return previous


def activate_if_none(conn: psycopg.Connection, versions: list[str]) -> str | None:
    """Initial activation only: the newest of `versions` when nothing is active yet."""
    if not versions or active_version(conn) is not None:
        return None
    newest = max(versions, key=version_key)
    activate(conn, newest, note="initial load: nothing was active")
    return newest


def quarantine(conn: psycopg.Connection, rejects: list[tuple[str, str, str | None]],
               source: str = QUARANTINE_SOURCE) -> None:
    loader.quarantine(conn, source, None, rejects)
