-- Each account's end-of-day balance valued with today's account record, product and economics:
-- the margin against the funds-transfer-pricing rate as a yearly figure for the day's balance
-- (deposits earn FTP minus what the bank pays, loans what the customer pays minus FTP, wealth a
-- fee) and the account's yearly cost. Annual figures are summed and divided once by the days
-- observed downstream: summing daily fractions first would truncate half cents.
-- A view: int_customer_balance_days reads it by date range or by (date, account), and those filters
-- reach fct_daily_balances' (balance_date, account_id) index.
{{ config(materialized='view') }}

with balances as (
    select * from {{ ref('fct_daily_balances') }}
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

final as (
    select
        balances.balance_date,
        balances.account_id,
        accounts.customer_id,
        economics.balance_side,
        balances.balance_cny,
        case economics.balance_side
            when 'deposit' then balances.balance_cny * (economics.ftp_rate - products.customer_rate)
            when 'loan' then balances.balance_cny * (products.customer_rate - economics.ftp_rate)
            when 'wealth' then balances.balance_cny * economics.wealth_fee_rate
        end as annual_margin_cny,
        economics.annual_account_cost_cny,
        balances._logical_date
    from balances
    inner join accounts on balances.account_id = accounts.account_id
    inner join products on accounts.product_code = products.product_code
    inner join economics on products.product_type = economics.product_type
)

select * from final
