-- Transaction behaviour per customer over the activity window: RFM inputs, digital share, fading.
with transactions as (
    -- The incremental fact, read by its txn_date index: no scan of raw history.
    select * from {{ ref('fct_transactions') }}
    where txn_date <= {{ as_of_date() }}
      and txn_date > {{ as_of_date() }} - {{ var('activity_window_days') }}
),

channel_costs as (
    select * from {{ ref('channel_costs') }}
),

window_txns as (
    select
        transactions.*,
        channel_costs.cost_per_txn_cny,
        channel_costs.is_digital
    from transactions
    inner join channel_costs on transactions.channel = channel_costs.channel
    where transactions.txn_date <= {{ as_of_date() }}
      and transactions.txn_date > {{ as_of_date() }} - {{ var('activity_window_days') }}
),

span as (
    select min(txn_date) as first_day, ({{ as_of_date() }} - min(txn_date) + 1) as days_observed
    from window_txns
),

final as (
    select
        window_txns.customer_id,
        max(window_txns.txn_date) as last_txn_date,
        count(*) as frequency_90d,
        sum(abs(window_txns.amount_cny)) as monetary_90d,
        avg(case when window_txns.is_digital then 1.0 else 0.0 end) as digital_share,
        sum(window_txns.cost_per_txn_cny) as channel_cost_cny,
        -- fee_cny is the bank's fee income on every row, fee postings included.
        sum(window_txns.fee_cny) as fee_income_cny,
        -- Fading: share of activity lost between the earlier and the recent half of the window.
        1 - count(*) filter (where window_txns.txn_date > span.first_day + span.days_observed / 2)::numeric
            / nullif(count(*) filter (where window_txns.txn_date <= span.first_day + span.days_observed / 2), 0)
            as activity_decline_pct
    from window_txns
    cross join span
    group by window_txns.customer_id
)

select * from final
