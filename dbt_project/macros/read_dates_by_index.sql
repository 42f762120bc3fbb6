{#- Hooks of a model that reads a few whole dates of a long date-first history (int_customer_days
    on the window bounds): a bitmap scan of each date through the index, never a scan of the
    history. With statistics the planner prices a date (3 % of 30 days) above a parallel
    sequential scan; at 1M customers the balance windows (now part of int_customer_value) took
    11.0 s that way, 5.3 s by index (activity 5.9 s, 3.3 s). A table without an index is still
    scanned.
    read_dates_by_index(false) puts the settings back (post-hook). -#}
{% macro read_dates_by_index(on=true) -%}
{% if on -%}
set enable_seqscan = off;
set effective_io_concurrency = 64;
{%- else -%}
reset enable_seqscan;
reset effective_io_concurrency;
{%- endif %}
{%- endmacro %}
