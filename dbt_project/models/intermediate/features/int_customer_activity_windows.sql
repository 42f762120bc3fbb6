-- Transaction activity per customer and feature date over trailing windows, as the bank knew it
-- on the feature date: a transaction counts when it happened on or before the date AND the core
-- system had recorded it by the end of that day (Asia/Shanghai), so a late booking shows up only
-- in later dates' features. A transaction corrected after the date keeps only its latest version
-- (fct_transactions), recorded after the date: it drops out of that date rather than leak.
-- Every feature date of a run lies a whole number of 30-day periods before the build date, and
-- the windows are whole periods (30, 90, 180 days; 365 = twelve periods and five days), so the
-- transactions are first summed per customer and period (counted back from the build date) and
-- per period in which they were recorded; each date then adds up at most thirteen such rows per
-- customer instead of a year of transactions.
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

dated as (
    select
        feature_date,
        ({{ as_of_date() }} - feature_date) / 30 as period
    from feature_dates
),

offsets as (
    select
        transactions.*,
        {{ as_of_date() }} - transactions.txn_date as days_back,
        {{ as_of_date() }} - greatest(
            transactions.txn_date, (transactions.updated_at at time zone 'Asia/Shanghai')::date
        ) as recorded_days_back,
        channel_costs.cost_per_txn_cny,
        channel_costs.is_digital
    from transactions
    left join channel_costs on transactions.channel = channel_costs.channel
    where transactions.txn_date > {{ as_of_date() }} - 30 * (select max(period) + 13 from dated)
),

periods as (
    select
        customer_id,
        days_back / 30 as period,
        recorded_days_back / 30 as recorded_period,
        days_back % 30 < 5 as in_first_5_days,
        count(*) as txn_count,
        sum(abs(amount_cny)) as txn_amount,
        sum(greatest(amount_cny, 0)) as inflow,
        sum(greatest(-amount_cny, 0)) as outflow,
        count(*) filter (where txn_type = 'salary') as salary_credits,
        count(*) filter (where is_digital) as digital_txn,
        count(*) filter (where channel = 'branch') as branch_txn,
        count(*) filter (where channel = 'atm') as atm_txn,
        count(*) filter (where channel = 'pos') as pos_txn,
        sum(fee_cny) as fee_income,
        coalesce(sum(cost_per_txn_cny), 0) as channel_cost,
        min(days_back) as min_days_back
    from offsets
    where recorded_days_back >= 0
    group by 1, 2, 3, 4
),

known as (
    -- Periods are counted back from the build date; a date p periods back sees the periods
    -- p to p + 12 (its year), of what was recorded p or more periods back.
    select
        dated.feature_date,
        periods.*,
        periods.period - dated.period as age,
        dated.period as date_period
    from dated
    inner join periods
        on periods.period between dated.period and dated.period + 12
        and periods.recorded_period >= dated.period
),

final as (
    select
        feature_date,
        customer_id,
        coalesce(sum(txn_count) filter (where age = 0), 0) as txn_count_30d,
        coalesce(sum(txn_count) filter (where age = 1), 0) as txn_count_prior_30d,
        coalesce(sum(txn_count) filter (where age < 3), 0) as txn_count_90d,
        coalesce(sum(txn_count) filter (where age between 3 and 5), 0) as txn_count_prior_90d,
        coalesce(sum(txn_count) filter (where age < 6), 0) as txn_count_180d,
        coalesce(sum(txn_count) filter (where age < 12 or in_first_5_days), 0) as txn_count_365d,
        coalesce(sum(txn_amount) filter (where age = 0), 0) as txn_amount_30d,
        coalesce(sum(txn_amount) filter (where age < 3), 0) as txn_amount_90d,
        coalesce(sum(txn_amount) filter (where age between 3 and 5), 0) as txn_amount_prior_90d,
        coalesce(sum(txn_amount) filter (where age < 6), 0) as txn_amount_180d,
        coalesce(sum(txn_amount) filter (where age < 12 or in_first_5_days), 0) as txn_amount_365d,
        coalesce(sum(inflow) filter (where age < 3), 0) as inflow_90d,
        coalesce(sum(outflow) filter (where age < 3), 0) as outflow_90d,
        coalesce(sum(salary_credits) filter (where age < 3), 0) as salary_credits_90d,
        coalesce(sum(digital_txn) filter (where age < 3), 0) as digital_txn_90d,
        coalesce(sum(branch_txn) filter (where age < 3), 0) as branch_txn_90d,
        coalesce(sum(atm_txn) filter (where age < 3), 0) as atm_txn_90d,
        coalesce(sum(pos_txn) filter (where age < 3), 0) as pos_txn_90d,
        coalesce(sum(fee_income) filter (where age < 3), 0) as fee_income_90d,
        coalesce(sum(channel_cost) filter (where age < 3), 0) as channel_cost_90d,
        count(distinct age) filter (where age < 12) as active_months_12,
        min(min_days_back) filter (where age < 12 or in_first_5_days) - min(date_period) * 30 as days_since_last_txn
    from known
    group by feature_date, customer_id
    having count(*) filter (where age < 12 or in_first_5_days) > 0
)

select * from final
