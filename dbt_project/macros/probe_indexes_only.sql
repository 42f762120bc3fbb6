{#- Planner settings for a statement that matches a few keys against a long history: no hash or
    merge join (they read the whole history) and no sequential scan where an index exists (right
    after a big build the statistics can be missing, and a scan of 70M rows looks no worse than
    probing). A small side without an index is still scanned. A bitmap scan reads up to 64 pages
    ahead (the default, 1, waits on each random read of a cold history in turn).
    probe_indexes_only(false) puts the settings back, before the model's own query runs. -#}
{% macro probe_indexes_only(on=true) -%}
{% if on -%}
set enable_hashjoin = off;
set enable_mergejoin = off;
set enable_seqscan = off;
set effective_io_concurrency = 64;
{%- else -%}
reset enable_hashjoin;
reset enable_mergejoin;
reset enable_seqscan;
reset effective_io_concurrency;
{%- endif %}
{%- endmacro %}

{#- Pre-hook of an incremental model materialised with 'append': delete the stored rows whose
    keys this run writes again (what dbt's delete+insert does, without its history scan). -#}
{% macro delete_rows_to_replace(keys, new_keys_sql) -%}
{% if is_incremental() %}{{ delete_matching_rows(keys, new_keys_sql) }}{% endif %}
{%- endmacro %}
