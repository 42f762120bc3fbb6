-- Campaign list sizes per business date, with how many were left off and why (one column per
-- list, the reasons as a JSON object), for marketing's dashboards. Counts only: no contact data.
{{ config(materialized='view') }}

with members as (
    select * from {{ ref('stg_campaign__list_members') }}
),

suppressions as (
    select * from {{ ref('stg_campaign__suppressions') }}
),

sizes as (
    select
        as_of_date,
        campaign_code,
        count(*) as list_size
    from members
    group by as_of_date, campaign_code
),

suppressed as (
    select
        as_of_date,
        campaign_code,
        sum(customers) as suppressed_customers,
        jsonb_object_agg(reason, customers) as suppressed_by_reason
    from suppressions
    group by as_of_date, campaign_code
),

final as (
    select
        coalesce(sizes.as_of_date, suppressed.as_of_date) as as_of_date,
        coalesce(sizes.campaign_code, suppressed.campaign_code) as campaign_code,
        coalesce(sizes.list_size, 0) as list_size,
        coalesce(suppressed.suppressed_customers, 0)::bigint as suppressed_customers,
        coalesce(suppressed.suppressed_by_reason, '{}'::jsonb) as suppressed_by_reason
    from sizes
    full outer join suppressed
        on suppressed.as_of_date = sizes.as_of_date and suppressed.campaign_code = sizes.campaign_code
)

select * from final
