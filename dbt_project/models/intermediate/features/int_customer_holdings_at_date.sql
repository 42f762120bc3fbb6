-- Products and balances per customer and feature date, as the bank knew them on the date.
-- Holdings come from the accounts' own opening and closing dates (an account is held on D when
-- opened on or before D and not closed by D). A balance counts when its date is within the
-- 90 days to D and the core system had posted it by the end of D; the balance "on D" is each
-- account's latest such balance (an account without one in the 35 days to D has none), the one
-- "90 days before" the latest in the 35 days to D - 90. Profit over the 90 days: the margin of
-- each account's average known balance against the funds-transfer price (product_economics),
-- as in mart_customer_value, for 90/365 of a year, less the account's holding cost.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='feature_date',
        unlogged=false,
        indexes=[{'columns': ['feature_date', 'customer_id'], 'unique': true}],
    )
}}

{% set product_types = ['current', 'term_deposit', 'wealth', 'mortgage', 'consumer_loan', 'credit_card'] %}

with feature_dates as (
    {{ feature_dates_to_build() }}
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

cards as (
    select * from {{ ref('stg_corebank__cards') }}
),

balances as (
    select * from {{ ref('fct_daily_balances') }}
),

held as (
    -- Every account that existed at some point in the 90 days to D (for openings and closings).
    select
        feature_dates.feature_date,
        accounts.account_id,
        accounts.customer_id,
        products.product_type,
        products.customer_rate,
        economics.balance_side,
        economics.ftp_rate,
        economics.wealth_fee_rate,
        economics.annual_account_cost_cny,
        accounts.opened_on > feature_dates.feature_date - 90 as opened_in_90d,
        accounts.closed_on <= feature_dates.feature_date as closed_by_date,
        coalesce(accounts.closed_on > feature_dates.feature_date - 90, false) as closed_in_90d
    from feature_dates
    inner join accounts
        on accounts.opened_on <= feature_dates.feature_date
        and (accounts.closed_on is null or accounts.closed_on > feature_dates.feature_date - 90)
    inner join products on accounts.product_code = products.product_code
    left join economics on products.product_type = economics.product_type
),

account_balances as (
    select
        held.feature_date,
        held.account_id,
        avg(balances.balance_cny) filter (where balances.balance_date > held.feature_date - 90) as avg_balance_90d,
        (array_agg(balances.balance_cny order by balances.balance_date desc)
            filter (where balances.balance_date > held.feature_date - 35))[1] as balance_now,
        (array_agg(balances.balance_cny order by balances.balance_date desc)
            filter (where balances.balance_date <= held.feature_date - 90))[1] as balance_90d_ago
    from held
    inner join balances
        on balances.account_id = held.account_id
        and balances.balance_date > held.feature_date - 125
        and balances.balance_date <= held.feature_date
        and (balances.updated_at at time zone 'Asia/Shanghai')::date <= held.feature_date
    group by held.feature_date, held.account_id
),

card_limits as (
    -- Credit limits of the credit cards issued by D and not closed by then.
    select
        feature_dates.feature_date,
        cards.customer_id,
        sum(cards.credit_limit_cny) as card_limit
    from feature_dates
    inner join cards
        on cards.card_type = 'credit'
        and cards.issued_on <= feature_dates.feature_date
        and (cards.card_status <> 'closed'
            or (cards.updated_at at time zone 'Asia/Shanghai')::date > feature_dates.feature_date)
    group by feature_dates.feature_date, cards.customer_id
),

per_customer as (
    select
        held.feature_date,
        held.customer_id,
        count(*) filter (where not coalesce(held.closed_by_date, false)) as product_count,
        {% for product_type in product_types %}
        coalesce(bool_or(held.product_type = '{{ product_type }}' and not coalesce(held.closed_by_date, false)), false)
            as has_{{ product_type }},
        {% endfor %}
        count(*) filter (where held.opened_in_90d) as products_opened_90d,
        count(*) filter (where held.closed_in_90d) as products_closed_90d,
        coalesce(sum(b.balance_now) filter (where held.balance_side in ('deposit', 'wealth')), 0) as deposit_balance,
        coalesce(sum(b.balance_90d_ago) filter (where held.balance_side in ('deposit', 'wealth')), 0)
            as deposit_balance_90d_ago,
        coalesce(sum(b.balance_now) filter (where held.product_type = 'wealth'), 0) as wealth_balance,
        coalesce(sum(b.balance_now) filter (where held.product_type in ('mortgage', 'consumer_loan')), 0) as loan_balance,
        coalesce(sum(b.balance_now) filter (where held.product_type = 'credit_card'), 0) as card_balance,
        coalesce(sum(
            case held.balance_side
                when 'deposit' then b.avg_balance_90d * (held.ftp_rate - held.customer_rate)
                when 'loan' then b.avg_balance_90d * (held.customer_rate - held.ftp_rate)
                when 'wealth' then b.avg_balance_90d * held.wealth_fee_rate
            end
        ) * 90 / 365.0, 0) as balance_margin_90d,
        coalesce(sum(held.annual_account_cost_cny) filter (where not coalesce(held.closed_by_date, false)), 0)
            * 90 / 365.0 as account_cost_90d
    from held
    left join account_balances as b
        on held.feature_date = b.feature_date and held.account_id = b.account_id
    group by held.feature_date, held.customer_id
),

final as (
    select
        per_customer.*,
        coalesce(card_limits.card_limit, 0) as card_limit
    from per_customer
    left join card_limits
        on per_customer.feature_date = card_limits.feature_date
        and per_customer.customer_id = card_limits.customer_id
)

select * from final
