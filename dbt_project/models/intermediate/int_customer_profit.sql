-- Profit contribution per customer, annualised from the activity window:
-- interest margin against FTP + wealth fees + transaction fees - cost to serve (channel + accounts).
with account_days as (
    select * from {{ ref('int_account_daily_economics') }}
),

activity as (
    select * from {{ ref('int_customer_activity') }}
),

balances as (
    select * from {{ ref('int_customer_balances') }}
),

margins as (
    select
        customer_id,
        -- Annual rates summed over account-days: divided once by the days observed below.
        sum(case when balance_side in ('deposit', 'loan') then annual_margin_cny else 0 end) as interest_margin_cny,
        sum(case when balance_side = 'wealth' then annual_margin_cny else 0 end) as wealth_fee_cny,
        sum(annual_account_cost_cny) as account_cost_cny
    from account_days
    group by customer_id
),

final as (
    select
        margins.customer_id,
        balances.days_observed,
        365.0 / balances.days_observed as annualisation_factor,
        round(margins.interest_margin_cny / balances.days_observed, 2) as net_interest_margin_cny,
        round((margins.wealth_fee_cny + coalesce(activity.fee_income_cny, 0) * 365) / balances.days_observed, 2)
            as fee_income_cny,
        round((margins.account_cost_cny + coalesce(activity.channel_cost_cny, 0) * 365) / balances.days_observed, 2)
            as cost_to_serve_cny
    from margins
    inner join balances on margins.customer_id = balances.customer_id
    left join activity on margins.customer_id = activity.customer_id
)

select
    *,
    net_interest_margin_cny + fee_income_cny - cost_to_serve_cny as profit_contribution_cny
from final
