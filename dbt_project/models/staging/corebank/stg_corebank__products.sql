with source as (
    {{ latest_version(source('corebank', 'products'), 'product_code') }}
),

final as (
    select
        product_code,
        product_name,
        product_type,
        customer_rate,
        monthly_fee_cny,
        updated_at,
        _logical_date
    from source
)

select * from final
