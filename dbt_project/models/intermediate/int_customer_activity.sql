-- Transaction behaviour per customer over the activity window: RFM inputs, digital share, fading.
-- Every figure is the difference of two running totals of int_customer_days, read on the dates
-- that bound the window and its halves: the cost follows the number of customers, not the days.
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

at_half as (
    select * from days where balance_date = (select earlier_half_end from bounds)
),

windowed as (
    -- A customer without a row on a bound had not started yet: running totals of zero.
    select
        at_end.customer_id,
        at_end.last_txn_date,
        at_end.cum_txn_count - coalesce(before_window.cum_txn_count, 0) as txn_count,
        at_end.cum_digital_txn_count - coalesce(before_window.cum_digital_txn_count, 0) as digital_txn_count,
        at_end.cum_monetary_cny - coalesce(before_window.cum_monetary_cny, 0) as monetary_cny,
        at_end.cum_channel_cost_cny - coalesce(before_window.cum_channel_cost_cny, 0) as channel_cost_cny,
        at_end.cum_fee_income_cny - coalesce(before_window.cum_fee_income_cny, 0) as fee_income_cny,
        coalesce(at_half.cum_txn_count, 0) - coalesce(before_window.cum_txn_count, 0) as earlier_txn_count,
        at_end.cum_txn_count - coalesce(at_half.cum_txn_count, 0) as recent_txn_count
    from at_end
    left join before_window on at_end.customer_id = before_window.customer_id
    left join at_half on at_end.customer_id = at_half.customer_id
),

final as (
    select
        customer_id,
        last_txn_date,
        txn_count as frequency_90d,
        monetary_cny as monetary_90d,
        digital_txn_count::numeric / txn_count as digital_share,
        channel_cost_cny,
        fee_income_cny,
        -- Fading: share of activity lost between the earlier and the recent half of the window.
        -- No transaction in the recent half is a 100% decline, not an unknown one.
        1 - recent_txn_count::numeric / nullif(earlier_txn_count, 0) as activity_decline_pct
    from windowed
    -- Customers who transacted in the window.
    where txn_count > 0
)

select * from final
