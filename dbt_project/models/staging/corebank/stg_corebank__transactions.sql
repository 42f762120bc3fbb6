with source as (
    {{ latest_version(source('corebank', 'transactions'), 'txn_id') }}
),

final as (
    select
        txn_id,
        account_id,
        customer_id,
        txn_ts,
        (txn_ts at time zone 'Asia/Shanghai')::date as txn_date,
        amount_cny,
        txn_type,
        channel,
        fee_cny,
        updated_at
    from source
)

select * from final
