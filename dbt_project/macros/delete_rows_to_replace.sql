{#- Pre-hook of an incremental model materialised with 'append': delete the stored rows whose
    keys this run writes again. dbt's own delete+insert matches the new keys with a hash join,
    which reads the whole stored history every day (two minutes for 70M balances); here the
    match is forced through the table's unique index, so a day's cost follows the day's keys.
    The planner settings are put back before the model's own query runs. -#}
{% macro delete_rows_to_replace(keys, new_keys_sql) -%}
{% if is_incremental() %}
set enable_hashjoin = off;
set enable_mergejoin = off;
delete from {{ this }} as stored
using ({{ new_keys_sql }}) as replaced
where {% for key in keys %}stored.{{ key }} = replaced.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %};
reset enable_hashjoin;
reset enable_mergejoin;
{% endif %}
{%- endmacro %}
