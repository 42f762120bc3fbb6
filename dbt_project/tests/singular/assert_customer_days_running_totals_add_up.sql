-- The running totals of int_customer_days must step by exactly the day's value on the build date:
-- a recompute that started from the wrong carried row would show here, and every window figure
-- downstream would be off by it. Returns the customers where it does not.
with today as (
    select * from {{ ref('int_customer_days') }}
    where balance_date = {{ as_of_date() }}
),

yesterday as (
    -- With the late corrections yesterday's stored totals lack: today's carry them on.
    {{ customer_days_on(ref('int_customer_days'), as_of_date() ~ ' - 1') }}
)

select today.customer_id
from today
left join yesterday on today.customer_id = yesterday.customer_id
where
    today.cum_aum_cny - coalesce(yesterday.cum_aum_cny, 0) <> today.aum_day_cny
    or today.cum_balance_days - coalesce(yesterday.cum_balance_days, 0) <> case when today.has_balance then 1 else 0 end
    or today.cum_account_cost_cny - coalesce(yesterday.cum_account_cost_cny, 0) <> today.annual_account_cost_cny
    or today.cum_txn_count - coalesce(yesterday.cum_txn_count, 0) <> today.txn_count
    or today.cum_channel_cost_cny - coalesce(yesterday.cum_channel_cost_cny, 0) <> today.channel_cost_cny
