-- The value of every (not erased) customer as of the build date, one row per customer: what the
-- tier rules grade and the Pareto mart ranks. mart_customer_value adds the RFM scores for BI,
-- beside the tier rules rather than before them: their three million-row sorts and the wide
-- logged table are off the path from the daily balances to the tiers.
with customers as (
    select * from {{ ref('stg_corebank__customers') }}
),

windows as (
    select * from {{ ref('int_customer_windows') }}
),

relationship as (
    select * from {{ ref('int_customer_relationship') }}
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

valued as (
    select
        scored.*,
        -- Retention: a base rate, lowered by each risk signal, bounded to stay a probability.
        least(0.97, greatest(0.30,
            (select value from params where parameter = 'base_annual_retention')
            - case when risk_balance_falling then (select value from params where parameter = 'balance_decline_penalty') else 0 end
            - case when risk_activity_fading then (select value from params where parameter = 'activity_decline_penalty') else 0 end
        )) as annual_retention,
        -- Next year's profit: today's plus the margin on the balance growth the trend projects.
        profit_contribution_cny
            + aum_cny * coalesce(balance_growth_annualised, 0)
              * (select value from params where parameter = 'projection_margin_rate')
            as predicted_annual_profit_cny
    from scored
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
        (predicted_annual_profit_cny * {{ clv_multiplier('annual_retention', 'params') }})::numeric(18, 2)
            as lifetime_value_cny
    from valued
)

select * from final
