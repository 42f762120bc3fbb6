-- One row per account and day of the activity window: balance and what it earned or cost the bank.
with balances as (
    -- The incremental fact, read by its balance_date index: no scan of raw history.
    select * from {{ ref('fct_daily_balances') }}
    where balance_date <= {{ as_of_date() }}
      and balance_date > {{ as_of_date() }} - {{ var('activity_window_days') }}
),

accounts as (
    select * from {{ ref('stg_corebank__accounts') }}
),

products as (
    select * from {{ ref('stg_corebank__products') }}
),

economics as (
    select * from {{ ref('product_economics') }}
),

customers as (
    select * from {{ ref('stg_corebank__customers') }}
),

window_balances as (
    select *
    from balances
    where balance_date <= {{ as_of_date() }}
      and balance_date > {{ as_of_date() }} - {{ var('activity_window_days') }}
),

final as (
    select
        window_balances.account_id,
        accounts.customer_id,
        window_balances.balance_date,
        products.product_type,
        economics.balance_side,
        window_balances.balance_cny,
        -- Margin against the funds-transfer-pricing rate: deposits earn ftp minus what the bank
        -- pays, loans earn what the customer pays minus ftp, wealth earns a fee. annual_* is what
        -- the day's balance would earn in a year; daily_* is that over 365. Profit sums the annual
        -- figures and divides once by the days observed: summing daily fractions first truncates
        -- (numeric division keeps ~16 digits) and can round a half cent the wrong way.
        case economics.balance_side
            when 'deposit' then window_balances.balance_cny * (economics.ftp_rate - products.customer_rate)
            when 'loan' then window_balances.balance_cny * (products.customer_rate - economics.ftp_rate)
            when 'wealth' then window_balances.balance_cny * economics.wealth_fee_rate
        end as annual_margin_cny,
        economics.annual_account_cost_cny,
        case economics.balance_side
            when 'deposit' then window_balances.balance_cny * (economics.ftp_rate - products.customer_rate) / 365.0
            when 'loan' then window_balances.balance_cny * (products.customer_rate - economics.ftp_rate) / 365.0
            when 'wealth' then window_balances.balance_cny * economics.wealth_fee_rate / 365.0
        end as daily_margin_cny,
        economics.annual_account_cost_cny / 365.0 as daily_account_cost_cny
    from window_balances
    inner join accounts on window_balances.account_id = accounts.account_id
    inner join products on accounts.product_code = products.product_code
    inner join economics on products.product_type = economics.product_type
    inner join customers on accounts.customer_id = customers.customer_id
    where not customers.is_erased
)

select * from final
