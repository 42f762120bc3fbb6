{#- Post-hook of an incremental per-day table that the next models of the same run read by date
    or batch: statistics for those columns, taken after the append. Autovacuum analyzes a table
    once 10 % of it has changed, and a day of a 30-day history is about 3 %, so without this the
    new day lies past the histogram and the planner estimates it at one row. At 1M customers
    int_customer_days then joined the day's 2.3M balances to accounts by 2.3M index probes
    (4.8 s of its plan). With the day analysed it hashes them; its query took 18.0 s against
    20.0 s in the 1M runs of docs/BENCHMARKS.md (session 12). Only the named columns: the
    sample is the same, the work per column is not.
    A small sample: these columns hold a few dozen dates of equal weight, and 3,000 rows (a
    statistics target of 10) see every date about a hundred times, so the estimates are those of
    the default 30,000 rows at a tenth of the reads (ANALYZE's cost is its random page reads,
    about 1.1 s for int_customer_days at 200,000 customers as at 1M). -#}
{% macro analyze_new_day(columns) -%}
set default_statistics_target = {{ var('new_day_statistics_target', 10) }};
analyze {{ this }} ({{ columns | join(', ') }});
reset default_statistics_target
{%- endmacro %}
