with suppressions as (
    select * from {{ source('campaign_ops', 'export_suppressions') }}
),

final as (
    select
        as_of_date,
        campaign_code,
        reason,
        customers
    from suppressions
)

select * from final
