{#- Delete the stored rows of {{ this }} whose keys the query returns, matched through the table's
    unique index. Left to itself the planner matches a large key set with a hash join, which
    reads the whole stored history (two minutes for 70M balances); with hash and merge joins off
    it probes the index, so the cost follows the keys. The settings are put back at once, before
    the model's own query runs. -#}
{% macro delete_matching_rows(keys, keys_sql) -%}
set enable_hashjoin = off;
set enable_mergejoin = off;
delete from {{ this }} as stored
using ({{ keys_sql }}) as matched
where {% for key in keys %}stored.{{ key }} = matched.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %};
reset enable_hashjoin;
reset enable_mergejoin;
{%- endmacro %}

{#- Pre-hook of an incremental model materialised with 'append': delete the stored rows whose
    keys this run writes again (what dbt's delete+insert does, without its history scan). -#}
{% macro delete_rows_to_replace(keys, new_keys_sql) -%}
{% if is_incremental() %}{{ delete_matching_rows(keys, new_keys_sql) }}{% endif %}
{%- endmacro %}
