with source as (
    {{ latest_version(source('corebank', 'daily_balances'), 'account_id, balance_date') }}
),

final as (
    select
        account_id,
        balance_date,
        balance_cny,
        updated_at
    from source
)

select * from final
