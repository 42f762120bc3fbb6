-- Balances per customer: AUM as an average daily balance, exposure on the last day, and trend.
-- Every window figure is the difference of two running totals of int_customer_days, read on the
-- few dates that bound the windows: the cost follows the number of customers, not the days.
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

before_aum_window as (
    select * from days where balance_date = (select before_aum_window from bounds)
),

windowed as (
    -- A customer without a row on a bound had not started yet: running totals of zero.
    select
        at_end.customer_id,
        at_end.cum_aum_cny - coalesce(before_aum_window.cum_aum_cny, 0) as aum_sum_cny,
        at_end.deposit_day_cny,
        at_end.wealth_day_cny,
        at_end.loan_day_cny,
        at_end.cum_balance_days - coalesce(before_window.cum_balance_days, 0) as balance_days,
        coalesce(at_half.cum_aum_cny, 0) - coalesce(before_window.cum_aum_cny, 0) as earlier_aum_sum_cny,
        coalesce(at_half.cum_balance_days, 0) - coalesce(before_window.cum_balance_days, 0) as earlier_days,
        at_end.cum_aum_cny - coalesce(at_half.cum_aum_cny, 0) as recent_aum_sum_cny,
        at_end.cum_balance_days - coalesce(at_half.cum_balance_days, 0) as recent_days
    from at_end
    left join before_window on at_end.customer_id = before_window.customer_id
    left join at_half on at_end.customer_id = at_half.customer_id
    left join before_aum_window on at_end.customer_id = before_aum_window.customer_id
),

final as (
    select
        windowed.customer_id,
        -- Days without a balance (account not yet open, or all closed) count as zero balance.
        windowed.aum_sum_cny / least({{ var('aum_window_days') }}, bounds.days_observed)::numeric as aum_cny,
        windowed.deposit_day_cny as deposit_balance_cny,
        windowed.wealth_day_cny as wealth_balance_cny,
        windowed.loan_day_cny as loan_exposure_cny,
        -- Trend: average AUM of the recent half of the observed window over the earlier half,
        -- each over the days the customer held a balance.
        (windowed.recent_aum_sum_cny / nullif(windowed.recent_days, 0))
            / nullif(windowed.earlier_aum_sum_cny / nullif(windowed.earlier_days, 0), 0) - 1 as balance_trend_pct,
        bounds.days_observed,
        -- Days between the midpoints of the two halves: the span the trend was measured over.
        greatest(bounds.days_observed / 2.0, 1) as trend_span_days
    from windowed
    cross join bounds
    -- Customers with a balance somewhere in the activity window.
    where windowed.balance_days > 0
)

select
    *,
    -- The trend compounded to a year, bounded: a 30-day blip must not project a hundredfold.
    -- No trend (no earlier-half balance to compare with), no projection: greatest() skips nulls,
    -- so without the guard a missing trend would read as -99%.
    case when balance_trend_pct is not null then
        -- In double precision: numeric power() with a fractional exponent costs ~10 us a row,
        -- and a projection needs no 20 significant digits.
        least(3, greatest(-1, power((1 + greatest(balance_trend_pct, -0.99))::float8,
                                    (365.0 / trend_span_days)::float8) - 1))::numeric
    end as balance_growth_annualised
from final
