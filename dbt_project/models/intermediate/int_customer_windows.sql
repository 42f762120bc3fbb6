-- The trailing-window figures of every customer with a balance or a transaction in the activity
-- window, as of the build date: each a sum over the window's stored days (int_customer_balance_days,
-- int_customer_txn_days, read by their date-first indexes), no running totals to keep right
-- (docs/decisions/0001-trailing-window-figures.md). Balance figures and profit are null for a
-- customer without a balance in the window, transaction figures for one without a transaction.
with bounds as (
    select * from {{ ref('int_window_bounds') }}
),

balance_days as not materialized (
    select * from {{ ref('int_customer_balance_days') }}
),

txn_days as not materialized (
    select * from {{ ref('int_customer_txn_days') }}
),

balance_sums as (
    select
        balance_days.customer_id,
        sum(balance_days.aum_day_cny) filter (where balance_days.balance_date > (select before_aum_window from bounds))
            as aum_sum_cny,
        count(*) filter (where balance_days.has_balance) as balance_days,
        sum(balance_days.aum_day_cny) filter (where balance_days.balance_date <= (select earlier_half_end from bounds))
            as earlier_aum_sum_cny,
        count(*) filter (where balance_days.has_balance and balance_days.balance_date <= (select earlier_half_end from bounds))
            as earlier_days,
        sum(balance_days.aum_day_cny) filter (where balance_days.balance_date > (select earlier_half_end from bounds))
            as recent_aum_sum_cny,
        count(*) filter (where balance_days.has_balance and balance_days.balance_date > (select earlier_half_end from bounds))
            as recent_days,
        sum(balance_days.deposit_day_cny) filter (where balance_days.balance_date = (select as_of_date from bounds))
            as deposit_day_cny,
        sum(balance_days.wealth_day_cny) filter (where balance_days.balance_date = (select as_of_date from bounds))
            as wealth_day_cny,
        sum(balance_days.loan_day_cny) filter (where balance_days.balance_date = (select as_of_date from bounds))
            as loan_day_cny,
        -- Annual rates summed over the customer's days in the window: divided once by the days
        -- observed below.
        sum(balance_days.annual_interest_margin_cny) as interest_margin_cny,
        sum(balance_days.annual_wealth_fee_cny) as wealth_fee_cny,
        sum(balance_days.annual_account_cost_cny) as account_cost_cny
    from balance_days
    -- The activity window as constants: the planner reads the range by its statistics (a scan of
    -- the table when the window covers most of it); a join to the bounds made it walk the date
    -- index over the window. The warehouse holds no day before first_day: the same range.
    where balance_days.balance_date > {{ as_of_date() }} - {{ var('activity_window_days') }}
      and balance_days.balance_date <= {{ as_of_date() }}
    group by balance_days.customer_id
),

txn_sums as (
    select
        txn_days.customer_id,
        max(txn_days.txn_date) as last_txn_date,
        sum(txn_days.txn_count)::bigint as txn_count,
        sum(txn_days.digital_txn_count)::bigint as digital_txn_count,
        sum(txn_days.monetary_cny) as monetary_cny,
        coalesce(sum(txn_days.txn_count) filter (where txn_days.txn_date <= (select earlier_half_end from bounds)), 0)
            as earlier_txn_count,
        coalesce(sum(txn_days.txn_count) filter (where txn_days.txn_date > (select earlier_half_end from bounds)), 0)
            as recent_txn_count,
        sum(txn_days.fee_income_cny) as window_fee_income_cny,
        sum(txn_days.channel_cost_cny) as window_channel_cost_cny
    from txn_days
    where txn_days.txn_date > {{ as_of_date() }} - {{ var('activity_window_days') }}
      and txn_days.txn_date <= {{ as_of_date() }}
    group by txn_days.customer_id
),

figures as (
    select
        coalesce(balance_sums.customer_id, txn_sums.customer_id) as customer_id,
        coalesce(balance_sums.balance_days, 0) > 0 as has_balance_in_window,
        coalesce(txn_sums.txn_count, 0) > 0 as has_txn_in_window,
        bounds.days_observed,
        -- Days without a balance (account not yet open, or all closed) count as zero balance.
        coalesce(balance_sums.aum_sum_cny, 0) / least({{ var('aum_window_days') }}, bounds.days_observed)::numeric
            as aum_cny,
        coalesce(balance_sums.deposit_day_cny, 0) as deposit_balance_cny,
        coalesce(balance_sums.wealth_day_cny, 0) as wealth_balance_cny,
        coalesce(balance_sums.loan_day_cny, 0) as loan_exposure_cny,
        -- Trend: average AUM of the recent half of the observed window over the earlier half,
        -- each over the days the customer held a balance.
        (balance_sums.recent_aum_sum_cny / nullif(balance_sums.recent_days, 0))
            / nullif(balance_sums.earlier_aum_sum_cny / nullif(balance_sums.earlier_days, 0), 0) - 1
            as balance_trend_pct,
        -- Days between the midpoints of the two halves: the span the trend was measured over.
        greatest(bounds.days_observed / 2.0, 1) as trend_span_days,
        round(balance_sums.interest_margin_cny / bounds.days_observed, 2) as net_interest_margin_cny,
        round((balance_sums.wealth_fee_cny + coalesce(txn_sums.window_fee_income_cny, 0) * 365)
              / bounds.days_observed, 2) as fee_income_cny,
        round((balance_sums.account_cost_cny + coalesce(txn_sums.window_channel_cost_cny, 0) * 365)
              / bounds.days_observed, 2) as cost_to_serve_cny,
        txn_sums.last_txn_date,
        txn_sums.txn_count,
        txn_sums.monetary_cny,
        txn_sums.digital_txn_count::numeric / nullif(txn_sums.txn_count, 0) as digital_share,
        -- Fading: share of activity lost between the earlier and the recent half of the window.
        -- No transaction in the recent half is a 100% decline, not an unknown one.
        1 - txn_sums.recent_txn_count::numeric / nullif(txn_sums.earlier_txn_count, 0) as activity_decline_pct
    from balance_sums
    full join txn_sums on balance_sums.customer_id = txn_sums.customer_id
    cross join bounds
),

final as (
    select
        customer_id,
        case when has_balance_in_window then aum_cny end as aum_cny,
        case when has_balance_in_window then deposit_balance_cny end as deposit_balance_cny,
        case when has_balance_in_window then wealth_balance_cny end as wealth_balance_cny,
        case when has_balance_in_window then loan_exposure_cny end as loan_exposure_cny,
        case when has_balance_in_window then balance_trend_pct end as balance_trend_pct,
        -- The trend compounded to a year, bounded: a 30-day blip must not project a hundredfold.
        -- No trend, no projection (greatest() skips nulls: a missing trend would read as -99%).
        -- In double precision: numeric power() with a fractional exponent costs ~10 us a row.
        case when has_balance_in_window and balance_trend_pct is not null then
            least(3, greatest(-1, power((1 + greatest(balance_trend_pct, -0.99))::float8,
                                        (365.0 / trend_span_days)::float8) - 1))::numeric
        end as balance_growth_annualised,
        case when has_balance_in_window then net_interest_margin_cny end as net_interest_margin_cny,
        case when has_balance_in_window then fee_income_cny end as fee_income_cny,
        case when has_balance_in_window then cost_to_serve_cny end as cost_to_serve_cny,
        case when has_balance_in_window then net_interest_margin_cny + fee_income_cny - cost_to_serve_cny
        end as profit_contribution_cny,
        case when has_txn_in_window then last_txn_date end as last_txn_date,
        case when has_txn_in_window then txn_count end as frequency_90d,
        case when has_txn_in_window then monetary_cny end as monetary_90d,
        case when has_txn_in_window then digital_share end as digital_share,
        case when has_txn_in_window then activity_decline_pct end as activity_decline_pct
    from figures
    where has_balance_in_window or has_txn_in_window
)

select * from final
