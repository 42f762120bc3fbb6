with source as (
    {{ latest_version(source('corebank', 'accounts'), 'account_id') }}
),

final as (
    select
        account_id,
        customer_id,
        product_code,
        opened_on,
        closed_on,
        status as account_status,
        updated_at
    from source
)

select * from final
