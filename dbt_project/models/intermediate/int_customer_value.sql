-- The value of every (not erased) customer as of the build date, one row per customer: the
-- trailing-window figures (int_customer_windows) and the value built on them (risk signals,
-- retention, predicted profit, lifetime value). The tier rules grade it and the Pareto mart
-- ranks it; mart_customer_value adds the RFM scores for BI.
with customers as (
    select * from {{ ref('stg_corebank__customers') }}
),

relationship as (
    select * from {{ ref('int_customer_relationship') }}
),

windows as (
    select * from {{ ref('int_customer_windows') }}
),

params as (
    select parameter, value from {{ ref('value_model_parameters') }}
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
    -- A fence: Postgres would inline this CTE into each reference and compute the casts again
    -- in the risk signals, the retention join and the prediction.
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
    -- signals, so they are computed four times here, not once a customer.
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
