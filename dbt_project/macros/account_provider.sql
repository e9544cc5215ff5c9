{# The provider of an account identifier, from its shape, as the export layout names them (docs/export-layout.md):
   an Azure subscription id is a GUID, a Google Cloud project id 6-30 lower-case letters, digits and hyphens
   starting with a letter, an AWS account id 12 digits (and anything else is read as AWS, as before). #}
{% macro account_provider(identifier) -%}
    case
        when {{ identifier }} ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then 'azure'
        when {{ identifier }} ~ '^[a-z][a-z0-9-]{4,28}[a-z0-9]$' then 'gcp'
        else 'aws'
    end
{%- endmacro %}
