{#- Post-hook of an incremental per-day table that the next models of the same run read by date
    or batch: statistics for those columns, taken after the append. Autovacuum analyzes a table
    once 10 % of it has changed, and a day of a 30-day history is about 3 %, so without this the
    new day lies past the histogram and the planner estimates it at one row. At 1M customers
    int_customer_days then joined the day's 2.3M balances to accounts by 2.3M index probes
    (4.8 s of its plan). With the day analysed it hashes them; its query took 18.0 s against
    20.0 s in the 1M runs of docs/BENCHMARKS.md (session 12). Only the named columns: the
    sample is the same, the work per column is not. -#}
{% macro analyze_new_day(columns) -%}
analyze {{ this }} ({{ columns | join(', ') }})
{%- endmacro %}
