{#- Delete the stored rows of {{ this }} whose keys the query returns, matched through the table's
    unique index. Left to itself the planner matches a large key set with a hash join, which
    reads the whole stored history (two minutes for 70M balances); with probe_indexes_only() it
    probes the index, so the cost follows the keys. -#}
{% macro delete_matching_rows(keys, keys_sql) -%}
{{ probe_indexes_only() }}
delete from {{ this }} as stored
using ({{ keys_sql }}) as matched
where {% for key in keys %}stored.{{ key }} = matched.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %};
{{ probe_indexes_only(false) }}
{%- endmacro %}
