{#- The raw batches an incremental model must read on this run: those newer than any already
    processed, plus the build date's own batch (a re-run of a date re-reads only that batch,
    which the loader replaced in raw). Written as one range on _logical_date, so the planner
    walks its index over the new batches only: a day's cost follows the day's rows, not history.
    (Batches after the build date are never read, so "newer than processed, or the build date"
    is exactly the range (least(processed, build date - 1), build date].) -#}
{% macro new_batches_filter(processed_relation, column='_logical_date') -%}
    {{ column }} <= {{ as_of_date() }}
    {% if is_incremental() %}
      and {{ column }} > least(
          (select coalesce(max(_logical_date), date '1900-01-01') from {{ processed_relation }}),
          {{ as_of_date() }} - 1
      )
    {% endif %}
{%- endmacro %}

{% macro new_raw_batches(relation) -%}
    select *
    from {{ relation }}
    where {{ new_batches_filter(this) }}
{%- endmacro %}
