{#
  The per-detection models (versions assembled into detections, their logic and their mappings: each an
  intermediate table merged into its mart) compute, on an incremental run, only the detections whose own inputs
  changed since the model's last build:
  - versions derived again since (int_detection_versions_derived.derived_xid past the mark), and
  - configurations parsed, mapped or replayed since (`parsed_from`: a model with content_hash and a time column,
    `parsed_at` unless the scope names another).
  Everything else they read is fingerprinted: the small inputs (`inputs`, a one-row model: accounts and people's
  attributes in int_detection_inputs_fingerprinted; manual mappings, verdicts and the mapping knowledge in
  int_mapping_inputs_fingerprinted) and the SQL of the model and its parents. A different fingerprint means one
  full pass, as does a missing mark: the marks live in intermediate.build_marks under the table's oid
  (macros/build_marks.sql), so a new or fully refreshed table is built in full.

  `scope` describes a model: {'inputs': model or none, 'parsed_from': model or none, 'parsed_at': its time
  column (optional), 'upstream': the scoped model it reads or none, 'column': 'detection_key' | 'detection_id'
  (how its rows name a detection)}.
  - A model reads its upstream only as far as the upstream has read (its marks are bounded by the upstream's),
    and makes a full pass after the upstream made one: building a mart alone, or its intermediate table with
    --full-refresh, leaves nothing behind.
  - The pre-hooks collect the detections to compute into a temporary table, analyzed, so the body and the
    deletes are planned for the day's few thousand rows rather than a guess.
  - Fingerprints, versions and upstream marks come from tables only dbt writes, so the body and the hooks of one
    build agree. Parses land outside dbt: that mark is saved in the pre-hook, before the body reads, so a parse
    that commits during a build is read again by the next one rather than missed. A reviewer's verdict saved
    during a build is in the next build's fingerprint.
#}
{% macro detection_build_state(scope, saving=false) %}
    {%- set versions = ref('int_detection_versions_derived') %}
    {%- set fingerprints = ref(scope.inputs) if scope.inputs else none %}
    {%- set parsed_from = ref(scope.parsed_from) if scope.parsed_from else none %}
    {%- set upstream = ref(scope.upstream) if scope.upstream else none %}
    {%- if scope.column == 'detection_id' %}{% do ref('detections') %}{% endif %}
    {#- a first or full build reads nothing before it runs (the tables it would read may not exist yet) #}
    {%- if not execute or not (is_incremental() or saving) %}{{ return({'full': true}) }}{% endif %}
    {%- set code = [model.raw_code] %}
    {%- for parent in model.depends_on.nodes if parent in graph.nodes %}
        {%- do code.append(graph.nodes[parent].raw_code) %}
    {%- endfor %}
    {%- set state_sql %}
        select
            (select coalesce(max(v.derived_xid), 0) from {{ versions }} as v)::text,
            {% if parsed_from -%}
            (select coalesce(max(p.{{ scope.get('parsed_at', 'parsed_at') }}), '-infinity') from {{ parsed_from }} as p)::text,
            {%- else -%}
            '-infinity',
            {%- endif %}
            {% if fingerprints -%}
            (select md5('{{ local_md5(code | join("\n")) }}' || f::text) from {{ fingerprints }} as f),
            {%- else -%}
            '{{ local_md5(code | join("\n")) }}',
            {%- endif %}
            {% if is_incremental() -%}
            coalesce({{ build_marks_of(this) }}, ''),
            {%- else -%}
            '',
            {%- endif %}
            {% if upstream -%}
            coalesce({{ build_marks_of(upstream) }}, '')
            {%- else -%}
            ''
            {%- endif %}
    {%- endset %}
    {%- set row = run_query(state_sql).rows[0] %}
    {%- set before = fromjson(row[3]) if row[3].startswith('{') else {} %}
    {#- a model reads its intermediate (or `detections`) only as far as that has read: its marks are bounded by the
        upstream's, and the upstream's last full pass (its generation) is part of its fingerprint #}
    {%- set up = fromjson(row[4]) if row[4].startswith('{') else {} %}
    {%- set versions_xid = up.get('versions_xid', '0') if upstream else row[0] %}
    {#- a parse mark from outside dbt (the parser's table) is not bounded: it is saved before the body reads #}
    {%- set parsed_bounded = upstream is not none and parsed_from is not none
                             and up.get('parsed_at', '-infinity') != '-infinity' %}
    {%- set parsed_at = up.parsed_at if parsed_bounded else row[1] %}
    {%- set inputs = local_md5(row[2] ~ up.get('generation', '')) %}
    {%- set full = not is_incremental() or before.get('inputs') != inputs or (upstream and not up) %}
    {{ return({
        'now': {'versions_xid': versions_xid, 'parsed_at': parsed_at, 'inputs': inputs,
                'generation': invocation_id if full else before.generation},
        'before': before,
        'full': full,
        'scope': scope,
        'parsed_from': parsed_from,
        'versions_bounded': upstream is not none,
        'parsed_bounded': parsed_bounded,
    }) }}
{% endmacro %}

{# a predicate on `column` (a detection key or id, as the scope says): its detection is computed again #}
{% macro in_detection_scope(state, column) -%}
    {%- if state.full -%}
        true
    {%- else -%}
        {{ column }} in (select s.detection from detection_scope as s)
    {%- endif -%}
{%- endmacro %}

{# the hooks of a scoped model. Before the body: collect the detections to compute again (and those a `widen`
   macro adds: detections whose result reads another's); forget their rows (an intermediate table, `forget`,
   indexed on the scope's column for that) or delete those of their rows its upstream intermediate no longer
   produces (a mart, `delete_vanished`); save this build's marks. #}
{% macro detection_scope_hooks(scope, forget=false, delete_vanished=false, widen=none) %}
    {%- set pre = ["{{ collect_detection_scope(" ~ scope ~ ") }}"] %}
    {%- if widen %}{% do pre.append("{{ " ~ widen ~ "(" ~ scope ~ ") }}") %}{% endif %}
    {%- if forget %}{% do pre.append("{{ forget_scoped_detections(" ~ scope ~ ") }}") %}{% endif %}
    {%- if delete_vanished %}
        {%- do pre.append("{{ delete_vanished_rows(ref('" ~ scope.upstream ~ "'), in_detection_scope("
                           ~ "detection_build_state(" ~ scope ~ "), 'existing." ~ scope.column ~ "'), '" ~ scope.column
                           ~ "') }}") %}
    {%- endif %}
    {%- set post = ["{{ ensure_index(['" ~ scope.column ~ "']) }}"] if forget else [] %}
    {{ return({
        'pre': pre + ["{{ save_detection_build_state(" ~ scope ~ ", 'pre') }}"],
        'post': post + ["{{ save_detection_build_state(" ~ scope ~ ", 'post') }}"],
    }) }}
{% endmacro %}

{# the config of a scoped intermediate table: rows of the detections in scope are forgotten, then appended again
   (`{{ config(**detection_scope_intermediate(scope)) }}`) #}
{% macro detection_scope_intermediate(scope) %}
    {%- set hooks = detection_scope_hooks(scope, forget=true) %}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'append',
               'on_schema_change': 'sync_all_columns', 'pre_hook': hooks.pre, 'post_hook': hooks.post}) }}
{% endmacro %}

{# pre_hook: the detections to compute again, by key or id, in a temporary table that lives until the build
   commits #}
{% macro collect_detection_scope(scope) %}
    {%- set state = detection_build_state(scope) %}
    {%- if not state.full %}
    -- a day's few thousand detections are probed by index (the pages are cached): halves the deletes at 1M
    set local random_page_cost = 1.1;
    create temporary table detection_scope_keys on commit drop as
    select distinct v.detection_key as detection
    from {{ ref('int_detection_versions_derived') }} as v
    where
        v.derived_xid > {{ state.before.versions_xid }}
        {%- if state.versions_bounded %} and v.derived_xid <= {{ state.now.versions_xid }}{% endif %};
        {%- if scope.column == 'detection_id' %}
    analyze detection_scope_keys;
    create temporary table detection_scope on commit drop as
    select d.id as detection
    from {{ ref('detections') }} as d
    inner join detection_scope_keys as k on d.detection_key = k.detection
            {%- if state.parsed_from %}
    union
    select d.id
    from {{ ref('detections') }} as d
    where d.content_hash in (
        select p.content_hash from {{ state.parsed_from }} as p
        where
            {%- set parsed_at = 'p.' ~ scope.get('parsed_at', 'parsed_at') %}
            {{ parsed_at }} > '{{ state.before.parsed_at }}'::timestamptz
            {%- if state.parsed_bounded %} and {{ parsed_at }} <= '{{ state.now.parsed_at }}'::timestamptz{% endif %}
    )
            {%- endif %};
        {%- else %}
    alter table detection_scope_keys rename to detection_scope;
        {%- endif %}
    analyze detection_scope;
    {%- endif %}
{% endmacro %}

{# the marks this build reaches, for the next one: saved before the body reads (in the pre-hook) on an
   incremental run, after the table exists (in the post-hook) on a first or full build #}
{% macro save_detection_build_state(scope, hook) %}
    {%- if execute and (hook == 'pre') == is_incremental() %}
    {{ save_build_marks(tojson(detection_build_state(scope, saving=true).now)) }}
    {%- endif %}
{% endmacro %}

{# pre_hook of an intermediate table: the rows to compute again go first (all of them on a full pass) #}
{% macro forget_scoped_detections(scope) %}
    {%- if is_incremental() %}
        {%- set state = detection_build_state(scope) %}
        {%- if state.full %}
    truncate {{ this }}
        {%- else %}
    delete from {{ this }} where {{ in_detection_scope(state, scope.column) }}
        {%- endif %}
    {%- endif %}
{% endmacro %}
