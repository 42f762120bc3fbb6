with members as (
    select * from {{ source('campaign', 'campaign_members') }}
),

final as (
    select
        as_of_date,
        campaign_code,
        customer_id,
        channel,
        tier_code
    from members
)

select * from final
