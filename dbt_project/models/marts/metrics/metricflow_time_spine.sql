-- One row a day: the calendar MetricFlow joins metrics to (dbt's time spine).
{{ config(materialized='table') }}

with days as (
    select generate_series('2015-01-01'::date, '2040-12-31'::date, interval '1 day')::date as date_day
),

final as (
    select date_day from days
)

select * from final
