{#- Post-hook of an incremental per-day table that the next models of the same run read by date
    or batch: statistics for those columns, taken after the write. Autovacuum analyzes a table
    once 10 % of it has changed, and a day of a 30-day history is about 3 %, so without this the
    new day lies past the histogram, the planner estimates it at one row and the next model
    joins its rows by nested loop. Only the named columns, and a small sample: these columns
    hold a few dozen dates of equal weight, which 3,000 rows (a statistics target of 10) see
    about a hundred times each. -#}
{% macro analyze_new_day(columns) -%}
set default_statistics_target = {{ var('new_day_statistics_target', 10) }};
analyze {{ this }} ({{ columns | join(', ') }});
reset default_statistics_target
{%- endmacro %}
