{#- Hooks of a model that reads a few whole dates of a long date-first history (int_customer_days
    on the window bounds): a bitmap scan of each date through the index, never a scan of the
    history. With statistics the planner prices a date (3 % of 30 days) above a parallel
    sequential scan; at 1M customers the balance windows (now part of int_customer_value) took
    11.0 s that way, 5.3 s by index (activity 5.9 s, 3.3 s). A table without an index is still
    scanned.
    No nested loops either: the planner joined the dates of the earlier bounds to the build date
    by a million index probes each (about 1.7 s a bound at 1M customers), where hashing the
    bound's rows, read once by the bitmap scan, takes 0.4 s; the model's query went from 11.2 s
    to 9.6 s (docs/BENCHMARKS.md, session 15).
    A plain index scan, not a bitmap scan: the index is (date, customer), so a date's rows come
    out in customer order and the bounds merge-join to each other and to the customers with no
    sort at all; a bitmap scan returns them in page order and each bound was sorted (four sorts
    of a million text keys: the model's query 28.4 and 30.4 s against 22.9 and 24.0 s by hand on
    the 1M warehouse, docs/BENCHMARKS.md, session 17). The table is stored date by date in
    customer order, so the index scan reads the same pages in the same order.
    read_dates_by_index(false) puts the settings back (post-hook). -#}
{% macro read_dates_by_index(on=true) -%}
{% if on -%}
set enable_seqscan = off;
set enable_nestloop = off;
set enable_bitmapscan = off;
set effective_io_concurrency = 64;
{%- else -%}
reset enable_seqscan;
reset enable_nestloop;
reset enable_bitmapscan;
reset effective_io_concurrency;
{%- endif %}
{%- endmacro %}
