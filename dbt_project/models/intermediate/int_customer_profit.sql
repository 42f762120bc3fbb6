-- Profit contribution per customer, annualised from the activity window:
-- interest margin against FTP + wealth fees + transaction fees - cost to serve (channel + accounts).
-- Reads the window bounds of int_customer_days itself, like int_customer_balances and
-- int_customer_activity, not their tables: the three then build side by side, not in a row.
{{ config(pre_hook="{{ read_dates_by_index() }}", post_hook="{{ read_dates_by_index(false) }}") }}

with bounds as (
    select * from {{ ref('int_window_bounds') }}
),

days as not materialized (
    -- Read through the balance_date index on each bound, never scanned whole.
    select * from {{ ref('int_customer_days') }}
),

at_end as (
    select * from days where balance_date = {{ as_of_date() }}
),

before_window as (
    select * from days where balance_date = (select before_window from bounds)
),

windowed as (
    -- Annual rates summed over the customer's days in the window (running totals at the end of
    -- the window minus at the day before it): divided once by the days observed below.
    -- A customer without a row on the day before had not started yet: running totals of zero.
    select
        at_end.customer_id,
        at_end.cum_balance_days - coalesce(before_window.cum_balance_days, 0) as balance_days,
        at_end.cum_txn_count - coalesce(before_window.cum_txn_count, 0) as txn_count,
        at_end.cum_interest_margin_cny - coalesce(before_window.cum_interest_margin_cny, 0) as interest_margin_cny,
        at_end.cum_wealth_fee_cny - coalesce(before_window.cum_wealth_fee_cny, 0) as wealth_fee_cny,
        at_end.cum_account_cost_cny - coalesce(before_window.cum_account_cost_cny, 0) as account_cost_cny,
        at_end.cum_fee_income_cny - coalesce(before_window.cum_fee_income_cny, 0) as window_fee_income_cny,
        at_end.cum_channel_cost_cny - coalesce(before_window.cum_channel_cost_cny, 0) as window_channel_cost_cny
    from at_end
    left join before_window on at_end.customer_id = before_window.customer_id
),

final as (
    select
        windowed.customer_id,
        bounds.days_observed,
        365.0 / bounds.days_observed as annualisation_factor,
        round(windowed.interest_margin_cny / bounds.days_observed, 2) as net_interest_margin_cny,
        -- Transaction fees and channel costs count for customers who transacted in the window
        -- (those int_customer_activity reports).
        round((windowed.wealth_fee_cny
               + case when windowed.txn_count > 0 then windowed.window_fee_income_cny else 0 end * 365)
              / bounds.days_observed, 2) as fee_income_cny,
        round((windowed.account_cost_cny
               + case when windowed.txn_count > 0 then windowed.window_channel_cost_cny else 0 end * 365)
              / bounds.days_observed, 2) as cost_to_serve_cny
    from windowed
    cross join bounds
    -- Customers with a balance somewhere in the activity window (those int_customer_balances reports).
    where windowed.balance_days > 0
)

select
    *,
    net_interest_margin_cny + fee_income_cny - cost_to_serve_cny as profit_contribution_cny
from final
