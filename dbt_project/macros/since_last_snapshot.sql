{#- Filter of a snapshot's feed: only the current versions from the batch the snapshot last
    captured on (a re-run of that date compares it again, harmlessly) and later. A version
    without a newer batch cannot be new to the snapshot, so comparing every customer every day
    is work without result. Before the snapshot exists (the first build) the feed is everything.
    The snapshot is named through its schema: a ref() to it would be a cycle. -#}
{% macro since_last_snapshot(snapshot_identifier) -%}
    {%- set snapshot = adapter.get_relation(
            database=target.database, schema='snapshots', identifier=snapshot_identifier) if execute else none -%}
    {%- if snapshot is not none -%}
    where _logical_date >= (select coalesce(max(_logical_date), date '1900-01-01') from {{ snapshot }})
    {%- endif -%}
{%- endmacro %}
