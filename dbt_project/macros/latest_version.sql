{#- Raw is append-only: keep the newest version of each key (by updated_at, then load time).
    distinct on, not row_number() = 1: the planner estimates its row count from the key's
    distinct values, where a rank filter is estimated at one row and invites nested loops. -#}
{% macro latest_version(relation, key, order_by="updated_at desc, _loaded_at desc") -%}
    select distinct on ({{ key }}) *
    from {{ relation }} as src
    order by {{ key }}, {{ order_by }}
{%- endmacro %}
