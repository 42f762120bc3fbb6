-- Balances per customer: AUM as an average daily balance, exposure on the last day, and trend.
with account_days as (
    select * from {{ ref('int_account_daily_economics') }}
),

customer_days as (
    select
        customer_id,
        balance_date,
        sum(case when balance_side in ('deposit', 'wealth') then balance_cny else 0 end) as aum_day_cny,
        sum(case when balance_side = 'deposit' then balance_cny else 0 end) as deposit_day_cny,
        sum(case when balance_side = 'wealth' then balance_cny else 0 end) as wealth_day_cny,
        sum(case when balance_side = 'loan' then balance_cny else 0 end) as loan_day_cny
    from account_days
    group by customer_id, balance_date
),

observed as (
    -- Days with any balance at all: a young warehouse may hold fewer days than the window.
    select
        count(distinct balance_date)::integer as days_observed,
        min(balance_date) as first_day
    from account_days
),

final as (
    select
        customer_days.customer_id,
        -- Days without a balance row (account not yet open) count as zero balance.
        sum(case when customer_days.balance_date > {{ as_of_date() }} - {{ var('aum_window_days') }}
                 then aum_day_cny else 0 end)
            / least({{ var('aum_window_days') }}, max(observed.days_observed))::numeric as aum_cny,
        sum(case when customer_days.balance_date = {{ as_of_date() }} then deposit_day_cny else 0 end)
            as deposit_balance_cny,
        sum(case when customer_days.balance_date = {{ as_of_date() }} then wealth_day_cny else 0 end)
            as wealth_balance_cny,
        sum(case when customer_days.balance_date = {{ as_of_date() }} then loan_day_cny else 0 end)
            as loan_exposure_cny,
        -- Trend: average AUM of the recent half of the observed window over the earlier half.
        avg(case when customer_days.balance_date > observed.first_day + (observed.days_observed / 2)
                 then aum_day_cny end)
            / nullif(avg(case when customer_days.balance_date <= observed.first_day + (observed.days_observed / 2)
                              then aum_day_cny end), 0) - 1 as balance_trend_pct,
        max(observed.days_observed) as days_observed,
        -- Days between the midpoints of the two halves: the span the trend was measured over.
        greatest(max(observed.days_observed) / 2.0, 1) as trend_span_days
    from customer_days
    cross join observed
    group by customer_days.customer_id
)

select
    *,
    -- The trend compounded to a year, bounded: a 30-day blip must not project a hundredfold.
    -- No trend (no earlier-half balance to compare with), no projection: greatest() skips nulls,
    -- so without the guard a missing trend would read as -99%.
    case when balance_trend_pct is not null then
        least(3, greatest(-1, power(1 + greatest(balance_trend_pct, -0.99), 365.0 / trend_span_days) - 1))
    end as balance_growth_annualised
from final
