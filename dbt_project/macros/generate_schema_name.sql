{#- Models land in the schema their folder names (stg, int, marts, ref), not <target>_<schema>:
    BI tools and grants refer to these names directly. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
