-- Normalized logic per detection (spec §D). Parsing happens once per distinct configuration
-- (raw.detection_logic, keyed by content hash); this fans it out to every detection version using it. The
-- parsed documents (entities, conditions, actions) follow from content_hash and parsed_at, so detection_logic
-- reads them only for the rows it writes rather than a million of them into this table every day. A daily run
-- joins only the detections whose versions were derived again or whose configuration was parsed again
-- (macros/detection_scope.sql).
{%- set scope = {'inputs': none, 'parsed_from': 'stg_detections__logic', 'upstream': 'detections',
                  'column': 'detection_id'} %}
{{ config(**detection_scope_intermediate(scope)) }}
{%- set state = detection_build_state(scope) %}
select
    {{ stable_id(["'logic'", 'detections.id']) }} as id,
    detections.id as detection_id,
    logic.severity::varchar(20) as severity,
    -- the parser's notes on what it could not read: where a reviewer should expect false positives
    case when logic.parse_reason is not null then array[logic.parse_reason] end as false_positive_indicators,
    logic.parsed_at::timestamp as parsed_at,
    logic.parser_version::varchar(50) as parser_version,
    logic.parse_confidence::numeric(3, 2) as parse_confidence,
    logic.content_hash
from {{ ref('detections') }} as detections
inner join {{ ref('stg_detections__logic') }} as logic on detections.content_hash = logic.content_hash
where {{ in_detection_scope(state, 'detections.id') }}
