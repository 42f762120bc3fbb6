{#- The query of int_customer_value, for one half of the customers (`half` 1 or 2, split by
    customer_value_split()): the two halves are two models that build side by side, each on a
    core of its own, and int_customer_value is their union (a view). One query over every
    customer ran on one core while the other waited for it (docs/BENCHMARKS.md, session 18).
    Each half reads its own range of the (date, customer) index on every bound. -#}
{% macro customer_value_query(half) -%}
{%- set split = customer_value_split() %}
{#- The same two conditions on every read: on the customer column, and on '{key}' for customer_days_on. #}
{%- set in_half = customer_value_range('customer_id', half, split) %}
{%- set key_in_half = customer_value_range('{key}', half, split) %}
with bounds as (
    select * from {{ ref('int_window_bounds') }}
),

days as not materialized (
    -- Read through the balance_date index on each bound, never scanned whole.
    select * from {{ ref('int_customer_days') }}
),

customers as (
    select * from {{ ref('stg_corebank__customers') }}
    where {{ in_half }}
),

relationship as (
    select * from {{ ref('int_customer_relationship') }}
    where {{ in_half }}
),

params as (
    select parameter, value from {{ ref('value_model_parameters') }}
),

at_end as (
    select * from days
    where balance_date = {{ as_of_date() }} and {{ in_half }}
),

before_window as (
    {{ customer_days_on('days', '(select before_window from bounds)', key_in_half) }}
),

at_half as (
    {{ customer_days_on('days', '(select earlier_half_end from bounds)', key_in_half) }}
),

before_aum_window as (
    {{ customer_days_on('days', '(select before_aum_window from bounds)', key_in_half) }}
),

windowed as (
    -- A customer without a row on a bound had not started yet: running totals of zero.
    select
        at_end.customer_id,
        at_end.last_txn_date,
        at_end.deposit_day_cny,
        at_end.wealth_day_cny,
        at_end.loan_day_cny,
        at_end.cum_aum_cny - coalesce(before_aum_window.cum_aum_cny, 0) as aum_sum_cny,
        at_end.cum_balance_days - coalesce(before_window.cum_balance_days, 0) as balance_days,
        coalesce(at_half.cum_aum_cny, 0) - coalesce(before_window.cum_aum_cny, 0) as earlier_aum_sum_cny,
        coalesce(at_half.cum_balance_days, 0) - coalesce(before_window.cum_balance_days, 0) as earlier_days,
        at_end.cum_aum_cny - coalesce(at_half.cum_aum_cny, 0) as recent_aum_sum_cny,
        at_end.cum_balance_days - coalesce(at_half.cum_balance_days, 0) as recent_days,
        at_end.cum_txn_count - coalesce(before_window.cum_txn_count, 0) as txn_count,
        at_end.cum_digital_txn_count - coalesce(before_window.cum_digital_txn_count, 0) as digital_txn_count,
        at_end.cum_monetary_cny - coalesce(before_window.cum_monetary_cny, 0) as monetary_cny,
        coalesce(at_half.cum_txn_count, 0) - coalesce(before_window.cum_txn_count, 0) as earlier_txn_count,
        at_end.cum_txn_count - coalesce(at_half.cum_txn_count, 0) as recent_txn_count,
        -- Annual rates summed over the customer's days in the window: divided once by the days
        -- observed below.
        at_end.cum_interest_margin_cny - coalesce(before_window.cum_interest_margin_cny, 0) as interest_margin_cny,
        at_end.cum_wealth_fee_cny - coalesce(before_window.cum_wealth_fee_cny, 0) as wealth_fee_cny,
        at_end.cum_account_cost_cny - coalesce(before_window.cum_account_cost_cny, 0) as account_cost_cny,
        at_end.cum_fee_income_cny - coalesce(before_window.cum_fee_income_cny, 0) as window_fee_income_cny,
        at_end.cum_channel_cost_cny - coalesce(before_window.cum_channel_cost_cny, 0) as window_channel_cost_cny
    from at_end
    left join before_window on at_end.customer_id = before_window.customer_id
    left join at_half on at_end.customer_id = at_half.customer_id
    left join before_aum_window on at_end.customer_id = before_aum_window.customer_id
),

subjects as (
    -- Balance figures and profit only for customers with a balance somewhere in the activity
    -- window; transaction figures only for those who transacted in it. Null otherwise: the
    -- customer has no such figure, and `joined` below says what that means.
    select
        windowed.*,
        windowed.balance_days > 0 as has_balance_in_window,
        windowed.txn_count > 0 as has_txn_in_window,
        bounds.days_observed
    from windowed
    cross join bounds
    where windowed.balance_days > 0 or windowed.txn_count > 0
    -- A fence: Postgres inlines a CTE into each reference and evaluates an expression wherever
    -- it is used, so every figure below re-did the numeric differences it is built on (AUM and
    -- the trend several times a row). Not pulled up, the differences are computed once a row.
    offset 0
),

figures as (
    select
        customer_id,
        has_balance_in_window,
        has_txn_in_window,
        days_observed,
        -- Days without a balance (account not yet open, or all closed) count as zero balance.
        aum_sum_cny / least({{ var('aum_window_days') }}, days_observed)::numeric as aum_cny,
        deposit_day_cny as deposit_balance_cny,
        wealth_day_cny as wealth_balance_cny,
        loan_day_cny as loan_exposure_cny,
        -- Trend: average AUM of the recent half of the observed window over the earlier half,
        -- each over the days the customer held a balance.
        (recent_aum_sum_cny / nullif(recent_days, 0))
            / nullif(earlier_aum_sum_cny / nullif(earlier_days, 0), 0) - 1 as balance_trend_pct,
        -- Days between the midpoints of the two halves: the span the trend was measured over.
        greatest(days_observed / 2.0, 1) as trend_span_days,
        round(interest_margin_cny / days_observed, 2) as net_interest_margin_cny,
        round((wealth_fee_cny + case when has_txn_in_window then window_fee_income_cny else 0 end * 365)
              / days_observed, 2) as fee_income_cny,
        round((account_cost_cny + case when has_txn_in_window then window_channel_cost_cny else 0 end * 365)
              / days_observed, 2) as cost_to_serve_cny,
        last_txn_date,
        txn_count,
        monetary_cny,
        digital_txn_count::numeric / nullif(txn_count, 0) as digital_share,
        -- Fading: share of activity lost between the earlier and the recent half of the window.
        -- No transaction in the recent half is a 100% decline, not an unknown one.
        1 - recent_txn_count::numeric / nullif(earlier_txn_count, 0) as activity_decline_pct
    from subjects
),

windows as (
    -- The window figures of a customer with a balance or a transaction in the activity window.
    select
        customer_id,
        case when has_balance_in_window then aum_cny end as aum_cny,
        case when has_balance_in_window then deposit_balance_cny end as deposit_balance_cny,
        case when has_balance_in_window then wealth_balance_cny end as wealth_balance_cny,
        case when has_balance_in_window then loan_exposure_cny end as loan_exposure_cny,
        case when has_balance_in_window then balance_trend_pct end as balance_trend_pct,
        -- The trend compounded to a year, bounded: a 30-day blip must not project a hundredfold.
        -- No trend (no earlier-half balance to compare with), no projection: greatest() skips
        -- nulls, so without the guard a missing trend would read as -99%. In double precision:
        -- numeric power() with a fractional exponent costs ~10 us a row.
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
),

joined as (
    select
        customers.customer_id,
        customers.city,
        customers.branch_code,
        relationship.age_years,
        relationship.tenure_months,
        coalesce(windows.aum_cny, 0)::numeric(18, 2) as aum_cny,
        coalesce(windows.deposit_balance_cny, 0)::numeric(18, 2) as deposit_balance_cny,
        coalesce(windows.wealth_balance_cny, 0)::numeric(18, 2) as wealth_balance_cny,
        coalesce(windows.loan_exposure_cny, 0)::numeric(18, 2) as loan_exposure_cny,
        coalesce(windows.net_interest_margin_cny, 0)::numeric(18, 2) as net_interest_margin_cny,
        coalesce(windows.fee_income_cny, 0)::numeric(18, 2) as fee_income_cny,
        coalesce(windows.cost_to_serve_cny, 0)::numeric(18, 2) as cost_to_serve_cny,
        coalesce(windows.profit_contribution_cny, 0)::numeric(18, 2) as profit_contribution_cny,
        coalesce({{ as_of_date() }} - windows.last_txn_date, 9999) as recency_days,
        coalesce(windows.frequency_90d, 0) as frequency_90d,
        coalesce(windows.monetary_90d, 0)::numeric(18, 2) as monetary_90d,
        coalesce(windows.digital_share, 0)::numeric(6, 4) as digital_share,
        relationship.product_count,
        relationship.days_since_rm_contact,
        windows.balance_trend_pct::numeric(10, 4) as balance_trend_pct,
        windows.balance_growth_annualised,
        windows.activity_decline_pct::numeric(10, 4) as activity_decline_pct
    from customers
    inner join relationship on customers.customer_id = relationship.customer_id
    -- No row: no balance or transaction in the window; a missing figure reads as none (zero
    -- AUM and profit, recency 9999) or unknown (trend, decline).
    left join windows on customers.customer_id = windows.customer_id
    where not customers.is_erased
    -- The same fence: the figures and casts once a row, not again in the risk signals, the
    -- retention join and the prediction.
    offset 0
),

scored as (
    select
        joined.*,
        (balance_trend_pct < (select value from params where parameter = 'balance_decline_threshold'))
            as risk_balance_falling,
        (activity_decline_pct > (select value from params where parameter = 'activity_decline_threshold'))
            as risk_activity_fading
    from joined
),

retention_rates as materialized (
    -- Retention is a base rate lowered by each risk signal, bounded to stay a probability; the
    -- lifetime-value multiplier follows from it. Both take one value per combination of the two
    -- signals, so they are computed four times here, not once a customer (the multiplier's
    -- numeric power() a row took about 2 s of this model at 1M customers).
    select
        falling,
        fading,
        retention,
        -- sum over the horizon of (r/(1+d))^t: each year weighted by the chance the customer is
        -- still here and discounted.
        {{ clv_multiplier('retention', 'params') }} as lifetime_multiplier
    from (
        select
            falling,
            fading,
            least(0.97, greatest(0.30,
                (select value from params where parameter = 'base_annual_retention')
                - case when falling then (select value from params where parameter = 'balance_decline_penalty') else 0 end
                - case when fading then (select value from params where parameter = 'activity_decline_penalty') else 0 end
            )) as retention
        from (values (false, false), (false, true), (true, false), (true, true)) as signals (falling, fading)
    ) as rates
),

valued as (
    select
        scored.*,
        retention_rates.retention as annual_retention,
        retention_rates.lifetime_multiplier,
        -- Next year's profit: today's plus the margin on the balance growth the trend projects.
        profit_contribution_cny
            + aum_cny * coalesce(balance_growth_annualised, 0)
              * (select value from params where parameter = 'projection_margin_rate')
            as predicted_annual_profit_cny
    from scored
    -- An unknown signal (no trend to judge) lowers nothing.
    inner join retention_rates
        on coalesce(scored.risk_balance_falling, false) = retention_rates.falling
       and coalesce(scored.risk_activity_fading, false) = retention_rates.fading
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        customer_id,
        city,
        branch_code,
        age_years,
        tenure_months,
        aum_cny,
        deposit_balance_cny,
        wealth_balance_cny,
        loan_exposure_cny,
        net_interest_margin_cny,
        fee_income_cny,
        cost_to_serve_cny,
        profit_contribution_cny,
        recency_days,
        frequency_90d,
        monetary_90d,
        coalesce(product_count, 0) as product_count,
        digital_share,
        days_since_rm_contact,
        balance_trend_pct,
        balance_growth_annualised::numeric as balance_growth_annualised,
        activity_decline_pct,
        coalesce(risk_balance_falling, false) as risk_balance_falling,
        coalesce(risk_activity_fading, false) as risk_activity_fading,
        annual_retention::numeric(6, 4) as annual_retention,
        predicted_annual_profit_cny::numeric(18, 2) as predicted_annual_profit_cny,
        -- Lifetime value: predicted annual profit over the horizon, each year weighted by the
        -- chance the customer is still here (retention^t) and discounted: sum m * (r/(1+d))^t.
        (predicted_annual_profit_cny * lifetime_multiplier)::numeric(18, 2) as lifetime_value_cny
    from valued
)

select * from final
{%- endmacro %}


{#- The customer number that starts the second half: the median of the customers, read through
    stg_corebank__customers' unique index when the half compiles. None in a unit test (the
    fixtures stand alone: the first half takes them all) or when there are no customers. -#}
{% macro customer_value_split() -%}
{%- if not execute or model.resource_type == 'unit_test' -%}{{ return(none) }}{%- endif -%}
{%- set split_sql -%}
select customer_id from {{ ref('stg_corebank__customers') }}
order by customer_id
offset (select count(*) / 2 from {{ ref('stg_corebank__customers') }})
limit 1
{%- endset -%}
{%- set rows = run_query(split_sql).rows -%}
{{ return(rows[0][0] if rows | length > 0 else none) }}
{%- endmacro %}


{#- The condition that keeps the customers of one half: `column` below the split (half 1) or
    from it on (half 2). Without a split, half 1 takes every customer and half 2 none. -#}
{% macro customer_value_range(column, half, split) -%}
{%- if split is none -%}{{ 'true' if half == 1 else 'false' }}
{%- elif half == 1 -%}{{ column }} < {{ dbt.string_literal(split) }}
{%- else -%}{{ column }} >= {{ dbt.string_literal(split) }}
{%- endif -%}
{%- endmacro %}
