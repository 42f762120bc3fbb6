with source as (
    {{ latest_version(source('corebank', 'cards'), 'card_id') }}
),

final as (
    select
        card_id,
        account_id,
        customer_id,
        card_type,
        credit_limit_cny,
        issued_on,
        status as card_status,
        updated_at
    from source
)

select * from final
