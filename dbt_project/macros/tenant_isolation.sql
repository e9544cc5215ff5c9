{# post-hook of every mart (dbt_project.yml): tenant isolation (docs/operations.md, "Tenants").
   Each mart names its `meta.tenant_scope` in dbt_project.yml:
   - shared: reference data every organization may read (ATT&CK, catalogs): granted to bi_tenant, no policy;
   - organization / account / detection / snapshot / content: the column that ties a row to an organization.
     The table gets row-level security with two policies: bi_reader reads every row, and bi_tenant reads the rows
     its organizations own (app.tenants, itself filtered to the reading role): an account when its organization
     is, a row when its account, detection or scan is. The predicates go through functions of migration 0015
     (app.tenant_account_ids() and the like), which the planner inlines: a policy naming marts.accounts itself
     would stay on the copy dbt replaces and be dropped with it when the run ends;
   - view: the view reads its tables as the reader (security_invoker, PostgreSQL 15+), so their policies apply;
   - none: organization-wide aggregates and operator state: never granted to bi_tenant.
   dbt replaces a table model on every run and an incremental one on a full refresh; this hook runs in the same
   transaction as the swap, before dbt's grants and the commit, so no reader ever sees the table without its
   policies. A policy already in place is left alone (its name carries a hash of its predicate): CREATE POLICY
   takes an exclusive lock, which a daily merge should not wait for behind a BI query. #}
{% macro tenant_isolation() -%}
    {%- set predicates = {
        'organization': "organization_id in (select t.organization_id from app.tenants as t)",
        'account': "account_id = any ((select app.tenant_account_ids())::uuid[])",
        'detection': "detection_id in (select id from app.tenant_detection_ids() as id)",
        'snapshot': "snapshot_id in (select id from app.tenant_snapshot_ids() as id)",
        'content': "content_hash in (select h from app.tenant_content_hashes() as h)",
    } -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set scope = model.config.get('meta', {}).get('tenant_scope') -%}
    {%- set materialized = model.config.materialized -%}
    {%- if scope not in ['shared', 'view', 'none'] + (predicates.keys() | list) -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ ": meta.tenant_scope must be shared, view, none or one of " ~ (predicates.keys() | join(', '))
            ~ " (dbt_project.yml), not " ~ scope) }}
    {%- endif -%}
    {%- if (scope == 'view') != (materialized == 'view') and not (materialized == 'view' and scope == 'none') -%}
        {{ exceptions.raise_compiler_error(model.name ~ ": tenant_scope view is for views, and a view is view or none") }}
    {%- endif -%}
    {%- set tenant_granted = 'bi_tenant' in (config.get('grants') or {}).get('select', []) -%}
    {%- if tenant_granted != (scope != 'none') -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ ": grants.select must include bi_tenant exactly when tenant_scope is not none") }}
    {%- endif -%}
    {%- if materialized == 'view' and scope == 'view' -%}
        {%- if run_query("select current_setting('server_version_num')::int >= 150000").columns[0].values()[0] -%}
            alter view {{ this }} set (security_invoker = true)
        {%- else -%}
            {#- PostgreSQL 14 has no security_invoker: the view would read as its owner, past every policy -#}
            revoke select on {{ this }} from bi_tenant
        {%- endif -%}
    {%- elif scope in predicates and materialized in ('table', 'incremental') -%}
        {%- set policy = 'own_organization_' ~ local_md5(predicates[scope])[:8] -%}
        {%- set state = run_query(
            "select c.relrowsecurity, coalesce(array_agg(p.policyname::text) filter (where p.policyname is not null), '{}')"
            ~ " from pg_class as c left join pg_policies as p on p.schemaname = '" ~ this.schema
            ~ "' and p.tablename = c.relname where c.oid = '" ~ this ~ "'::regclass group by c.relrowsecurity") -%}
        {%- set enabled = state.columns[0].values()[0] -%}
        {%- set existing = state.columns[1].values()[0] -%}
        {%- set statements = [] -%}
        {%- if not enabled -%}
            {%- do statements.append("alter table " ~ this ~ " enable row level security") -%}
        {%- endif -%}
        {%- if 'all_organizations' not in existing -%}
            {%- do statements.append("create policy all_organizations on " ~ this ~ " for select to bi_reader using (true)") -%}
        {%- endif -%}
        {%- if policy not in existing -%}
            {%- for old in existing if old.startswith('own_organization_') -%}
                {%- do statements.append("drop policy " ~ old ~ " on " ~ this) -%}
            {%- endfor -%}
            {%- do statements.append("create policy " ~ policy ~ " on " ~ this ~ " for select to bi_tenant using ("
                                     ~ predicates[scope] ~ ")") -%}
        {%- endif -%}
        {{ statements | join(';\n') }}
    {%- endif -%}
{%- endmacro %}
