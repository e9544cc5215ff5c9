"""ATT&CK ingest: every configured STIX bundle and external knowledge file, verbatim into raw.

Unpartitioned: ATT&CK is versioned, not daily. A bad file is recorded in raw.quarantine with the file and object
named, warned about, and leaves the versions already loaded (and the active one) untouched; the other files
still load and everything downstream still updates. The step fails only when no ATT&CK version is loaded at all
(nothing downstream could be built).
"""


import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib import settings
from dagster_project.lib.attack import bundle, knowledge, sources, store


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "attack_bundles"], group_name="attack", kinds={"python", "postgres"},
                     description="One row per loaded ATT&CK version: source, sha256, STIX spec, object counts."),
        dg.AssetSpec(["raw", "attack_objects"], group_name="attack", kinds={"python", "postgres"},
                     description="Every STIX object verbatim (JSONB), keyed by ATT&CK version + STIX id."),
    ],
)
def attack_bundles(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    cfg = settings.load()
    refs = sources.attack_sources(cfg)
    loaded, rejects, failures = [], [], []
    for ref in refs:
        try:
            parsed = bundle.parse(ref, sources.fetch(ref, "DCV_ATTACK_SOURCE", sources.attack_cache(cfg)))
        except bundle.BundleError as exc:
            rejects.append((f"{exc.source} {exc.object_ref}", exc.reason, None))
            failures.append(str(exc))
            continue
        except sources.SourceError as exc:
            rejects.append((ref, str(exc), None))
            failures.append(str(exc))
            continue
        with warehouse.connect() as conn:
            status = store.load_bundle(conn, parsed)
        context.log.info(f"ATT&CK {parsed.attack_version} from {ref}: {status}")
        official = sources.official_sha256(parsed.attack_version, parsed.spec_version)
        loaded.append({"version": parsed.attack_version, "status": status, "sha256": parsed.sha256,
                       "spec_version": parsed.spec_version, "objects": len(parsed.objects),
                       "official_release": official == parsed.sha256, "source": ref, "counts": parsed.counts})
        del parsed
    with warehouse.connect() as conn:
        store.quarantine(conn, rejects)
        activated = store.activate_if_none(conn, [b["version"] for b in loaded])
        active = store.active_version(conn)
    for failure in failures:
        context.log.warning(f"ATT&CK source rejected (quarantined; versions already loaded are unchanged): {failure}")
    if active is None:
        raise dg.Failure(description="no ATT&CK version is loaded: " + "; ".join(failures or ["no source"]),
                         metadata={"loaded": loaded})
    metadata = {
        "versions": [b["version"] for b in loaded],
        "loads": dg.MetadataValue.json(loaded),
        "active_version": active,
        "activated_now": activated,
        "objects": sum(b["objects"] for b in loaded),
        "rejected_sources": dg.MetadataValue.json(failures),
    }
    yield dg.MaterializeResult(asset_key=["raw", "attack_bundles"], metadata=metadata)
    yield dg.MaterializeResult(asset_key=["raw", "attack_objects"],
                               metadata={"objects": metadata["objects"], "versions": metadata["versions"]})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "knowledge_documents"], group_name="attack", kinds={"python", "postgres"},
                     description="External knowledge (CTID Mappings Explorer files, the TrailDiscover folder): source, "
                                 "sha256, metadata (provenance, licence)."),
        dg.AssetSpec(["raw", "knowledge_objects"], group_name="attack", kinds={"python", "postgres"},
                     description="Each object of an external knowledge source (CTID mapping, TrailDiscover event), "
                                 "verbatim (JSONB)."),
    ],
)
def knowledge_documents(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    cfg = settings.load()
    refs = sources.knowledge_sources(cfg, cfg.knowledge_source)
    loads, rejects = [], []
    for ref in refs:
        try:
            doc, kind = knowledge.read_source(ref, lambda r: sources.fetch(r, "DCV_KNOWLEDGE_SOURCE"))
        except bundle.BundleError as exc:
            rejects.append((f"{exc.source} {exc.object_ref}", exc.reason, None))
            continue
        except sources.SourceError as exc:
            rejects.append((ref, str(exc), None))
            continue
        with warehouse.connect() as conn:
            status = store.load_knowledge(conn, doc, kind)
        loads.append({"file": doc.source_file, "source": kind, "status": status, "sha256": doc.sha256,
                      "attack_version": doc.metadata.get("attack_version"), "objects": len(doc.objects)})
    with warehouse.connect() as conn:
        store.quarantine(conn, rejects, source="knowledge_documents")
    for ref, reason, _ in rejects:
        context.log.warning(f"knowledge source rejected (quarantined; its version already loaded is unchanged): "
                            f"{ref}: {reason}")
    yield dg.MaterializeResult(asset_key=["raw", "knowledge_documents"], metadata={
        "loads": dg.MetadataValue.json(loads),
        "rejected_sources": dg.MetadataValue.json([f"{r[0]}: {r[1]}" for r in rejects])})
    yield dg.MaterializeResult(asset_key=["raw", "knowledge_objects"],
                               metadata={"objects": sum(d["objects"] for d in loads)})

# each asset's page links to the function that computes it
attack_bundles, knowledge_documents = dg.with_source_code_references([attack_bundles, knowledge_documents])
