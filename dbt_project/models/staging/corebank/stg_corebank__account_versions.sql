-- Every version of every account record, as loaded: who owned an account and under which
-- product before its latest change. int_customer_balance_days reads it to find the customers whose
-- stored days an account's new record changes.
with source as (
    select * from {{ source('corebank', 'accounts') }}
),

final as (
    select
        account_id,
        customer_id,
        product_code,
        opened_on,
        updated_at,
        _logical_date
    from source
)

select * from final
