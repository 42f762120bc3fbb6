{#- Raw is append-only: keep the newest version of each key (by updated_at, then load time). -#}
{% macro latest_version(relation, key, order_by="updated_at desc, _loaded_at desc") -%}
    select *
    from (
        select
            src.*,
            row_number() over (partition by {{ key }} order by {{ order_by }}) as _version_rank
        from {{ relation }} as src
    ) as versions
    where _version_rank = 1
{%- endmacro %}
