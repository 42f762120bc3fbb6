-- Transaction behaviour per customer over the activity window: RFM inputs, digital share, fading.
-- Reads the per-customer-day totals (by their txn_date index), not every transaction.
with customer_days as (
    select * from {{ ref('int_customer_txn_days') }}
    where txn_date <= {{ as_of_date() }}
      and txn_date > {{ as_of_date() }} - {{ var('activity_window_days') }}
),

span as (
    select min(txn_date) as first_day, ({{ as_of_date() }} - min(txn_date) + 1) as days_observed
    from customer_days
),

final as (
    select
        customer_days.customer_id,
        max(customer_days.txn_date) as last_txn_date,
        sum(customer_days.txn_count)::bigint as frequency_90d,
        sum(customer_days.monetary_cny) as monetary_90d,
        sum(customer_days.digital_txn_count)::numeric / sum(customer_days.txn_count) as digital_share,
        sum(customer_days.channel_cost_cny) as channel_cost_cny,
        sum(customer_days.fee_income_cny) as fee_income_cny,
        -- Fading: share of activity lost between the earlier and the recent half of the window.
        -- No transaction in the recent half is a 100% decline, not an unknown one.
        1 - coalesce(sum(customer_days.txn_count) filter (where customer_days.txn_date > span.first_day + span.days_observed / 2), 0)::numeric
            / nullif(sum(customer_days.txn_count) filter (where customer_days.txn_date <= span.first_day + span.days_observed / 2), 0)
            as activity_decline_pct
    from customer_days
    cross join span
    group by customer_days.customer_id
)

select * from final
