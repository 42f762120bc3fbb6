-- Transaction activity per customer and feature date over trailing windows, as the bank knew it
-- on the feature date: a transaction counts when it happened on or before the date AND the core
-- system had recorded it by the end of that day (Asia/Shanghai), so a late booking shows up only
-- in later dates' features. A transaction corrected after the date keeps only its latest version
-- (fct_transactions), recorded after the date: it drops out of that date rather than leak.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='feature_date',
        unlogged=false,
        indexes=[{'columns': ['feature_date', 'customer_id'], 'unique': true}],
    )
}}

with feature_dates as (
    {{ feature_dates_to_build() }}
),

transactions as (
    select * from {{ ref('fct_transactions') }}
),

channel_costs as (
    select * from {{ ref('channel_costs') }}
),

known as (
    select
        feature_dates.feature_date,
        transactions.customer_id,
        feature_dates.feature_date - transactions.txn_date as days_before,
        transactions.amount_cny,
        transactions.fee_cny,
        transactions.channel,
        transactions.txn_type,
        channel_costs.cost_per_txn_cny,
        channel_costs.is_digital
    from feature_dates
    inner join transactions
        on transactions.txn_date > feature_dates.feature_date - 365
        and transactions.txn_date <= feature_dates.feature_date
        and (transactions.updated_at at time zone 'Asia/Shanghai')::date <= feature_dates.feature_date
    left join channel_costs on transactions.channel = channel_costs.channel
),

final as (
    select
        feature_date,
        customer_id,
        count(*) filter (where days_before < 30) as txn_count_30d,
        count(*) filter (where days_before >= 30 and days_before < 60) as txn_count_prior_30d,
        count(*) filter (where days_before < 90) as txn_count_90d,
        count(*) filter (where days_before >= 90 and days_before < 180) as txn_count_prior_90d,
        count(*) filter (where days_before < 180) as txn_count_180d,
        count(*) as txn_count_365d,
        coalesce(sum(abs(amount_cny)) filter (where days_before < 30), 0) as txn_amount_30d,
        coalesce(sum(abs(amount_cny)) filter (where days_before < 90), 0) as txn_amount_90d,
        coalesce(sum(abs(amount_cny)) filter (where days_before >= 90 and days_before < 180), 0)
            as txn_amount_prior_90d,
        coalesce(sum(abs(amount_cny)) filter (where days_before < 180), 0) as txn_amount_180d,
        sum(abs(amount_cny)) as txn_amount_365d,
        coalesce(sum(amount_cny) filter (where days_before < 90 and amount_cny > 0), 0) as inflow_90d,
        coalesce(-sum(amount_cny) filter (where days_before < 90 and amount_cny < 0), 0) as outflow_90d,
        count(*) filter (where days_before < 90 and txn_type = 'salary') as salary_credits_90d,
        count(*) filter (where days_before < 90 and is_digital) as digital_txn_90d,
        count(*) filter (where days_before < 90 and channel = 'branch') as branch_txn_90d,
        count(*) filter (where days_before < 90 and channel = 'atm') as atm_txn_90d,
        count(*) filter (where days_before < 90 and channel = 'pos') as pos_txn_90d,
        coalesce(sum(fee_cny) filter (where days_before < 90), 0) as fee_income_90d,
        coalesce(sum(cost_per_txn_cny) filter (where days_before < 90), 0) as channel_cost_90d,
        count(distinct days_before / 30) filter (where days_before < 360) as active_months_12,
        min(days_before) as days_since_last_txn
    from known
    group by feature_date, customer_id
)

select * from final
