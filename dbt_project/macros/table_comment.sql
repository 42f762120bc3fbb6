{#- The comment of `relation`'s table, or none (no table, no comment): where a model stamps what it
    holds (int_customer_balance_day, mart_customer_tier_history). -#}
{% macro table_comment(relation) -%}
{{ return(run_query("select obj_description(to_regclass('" ~ relation ~ "'), 'pg_class')").rows[0][0]) }}
{%- endmacro %}
