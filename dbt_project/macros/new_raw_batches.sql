{#- The raw batches an incremental fact must read on this run: those newer than any already
    processed, plus the build date's own batch (a re-run of a date re-reads only that batch,
    which the loader replaced in raw). A range scan on raw._logical_date, so a day's cost follows
    the day's rows, not history. -#}
{% macro new_raw_batches(relation) -%}
    select *
    from {{ relation }}
    where _logical_date <= {{ as_of_date() }}
    {% if is_incremental() %}
      and (
          _logical_date > (select coalesce(max(_logical_date), date '1900-01-01') from {{ this }})
          or _logical_date = {{ as_of_date() }}
      )
    {% endif %}
{%- endmacro %}
