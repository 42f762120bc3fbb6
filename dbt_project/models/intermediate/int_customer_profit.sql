-- Profit contribution per customer, annualised from the activity window:
-- interest margin against FTP + wealth fees + transaction fees - cost to serve (channel + accounts).
{{ config(pre_hook="{{ read_dates_by_index() }}", post_hook="{{ read_dates_by_index(false) }}") }}

with bounds as (
    select * from {{ ref('int_window_bounds') }}
),

days as not materialized (
    -- Read through the balance_date index on each bound, never scanned whole.
    select * from {{ ref('int_customer_days') }}
),

activity as (
    select * from {{ ref('int_customer_activity') }}
),

balances as (
    select * from {{ ref('int_customer_balances') }}
),

at_end as (
    select * from days where balance_date = {{ as_of_date() }}
),

before_window as (
    select * from days where balance_date = (select before_window from bounds)
),

margins as (
    -- Annual rates summed over the customer's days in the window (running totals at the end of
    -- the window minus at the day before it): divided once by the days observed below.
    select
        at_end.customer_id,
        at_end.cum_interest_margin_cny - coalesce(before_window.cum_interest_margin_cny, 0) as interest_margin_cny,
        at_end.cum_wealth_fee_cny - coalesce(before_window.cum_wealth_fee_cny, 0) as wealth_fee_cny,
        at_end.cum_account_cost_cny - coalesce(before_window.cum_account_cost_cny, 0) as account_cost_cny
    from at_end
    left join before_window on at_end.customer_id = before_window.customer_id
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
