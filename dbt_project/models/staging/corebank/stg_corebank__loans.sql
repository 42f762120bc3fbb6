with source as (
    {{ latest_version(source('corebank', 'loans'), 'loan_id') }}
),

final as (
    select
        loan_id,
        account_id,
        customer_id,
        principal_cny,
        annual_rate,
        start_date,
        maturity_date,
        status as loan_status,
        updated_at
    from source
)

select * from final
