-- Point-in-time features per customer and feature date: what the bank knew about each customer
-- on that date, for the churn, value and next-best-product models to train on (earlier dates)
-- and score (the build date). Which dates a run builds: macros/feature_dates_to_build.sql; a
-- date is built only once the intermediate feature models hold it.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='feature_date',
        on_schema_change='fail',
        contract={'enforced': true},
        indexes=[{'columns': ['customer_id']}],
    )
}}

{% set product_types = ['current', 'term_deposit', 'wealth', 'mortgage', 'consumer_loan', 'credit_card'] %}

with customers as (
    select * from {{ ref('dim_customer') }}
),

activity as (
    select * from {{ ref('int_customer_activity_windows') }}
),

holdings as (
    select * from {{ ref('int_customer_holdings_at_date') }}
),

interactions as (
    select * from {{ ref('int_customer_interactions_windows') }}
),

feature_dates as (
    select planned.feature_date
    from ({{ feature_dates_to_build() }}) as planned
    where exists (select 1 from holdings where holdings.feature_date = planned.feature_date)
),

population as (
    -- Customers onboarded by the date, unless their relationship had ended a year before it.
    select
        feature_dates.feature_date,
        customers.customer_id,
        customers.person_id,
        customers.onboarded_on,
        customers.birth_date,
        customers.customer_status = 'closed'
            and (customers.updated_at at time zone 'Asia/Shanghai')::date <= feature_dates.feature_date
            as customer_closed,
        customers.customer_status = 'closed'
            and (customers.updated_at at time zone 'Asia/Shanghai')::date <= feature_dates.feature_date - 365
            as closed_long_ago
    from feature_dates
    inner join customers on customers.onboarded_on <= feature_dates.feature_date
),

final as (
    select
        population.feature_date,
        population.customer_id::text as customer_id,
        population.person_id::text as person_id,
        (population.feature_date - population.onboarded_on)::integer as tenure_days,
        (extract(year from age(population.feature_date, population.birth_date)))::integer as age_years,
        population.customer_closed,
        (not population.customer_closed and coalesce(h.product_count, 0) > 0 and coalesce(a.txn_count_90d, 0) > 0)
            as is_active,
        a.days_since_last_txn::integer as days_since_last_txn,
        (12 - coalesce(a.active_months_12, 0))::integer as months_inactive,
        {% for w in ['30d', '90d', '180d', '365d'] %}
        coalesce(a.txn_count_{{ w }}, 0)::integer as txn_count_{{ w }},
        coalesce(a.txn_amount_{{ w }}, 0)::numeric(18, 2) as txn_amount_{{ w }},
        {% endfor %}
        round((coalesce(a.txn_count_30d, 0) + 1.0) / (coalesce(a.txn_count_prior_30d, 0) + 1.0), 4)::numeric(12, 4)
            as txn_count_trend_30d,
        round((coalesce(a.txn_count_90d, 0) + 1.0) / (coalesce(a.txn_count_prior_90d, 0) + 1.0), 4)::numeric(12, 4)
            as txn_count_trend_90d,
        round((coalesce(a.txn_amount_90d, 0) + 100.0) / (coalesce(a.txn_amount_prior_90d, 0) + 100.0), 4)::numeric(12, 4)
            as txn_amount_trend_90d,
        coalesce(a.inflow_90d, 0)::numeric(18, 2) as inflow_90d,
        coalesce(a.outflow_90d, 0)::numeric(18, 2) as outflow_90d,
        coalesce(a.salary_credits_90d, 0)::integer as salary_credits_90d,
        {% for channel in ['digital', 'branch', 'atm', 'pos'] %}
        round(coalesce(a.{{ channel }}_txn_90d, 0) / greatest(coalesce(a.txn_count_90d, 0), 1)::numeric, 4)::numeric(6, 4)
            as {{ channel }}_share_90d,
        {% endfor %}
        coalesce(h.deposit_balance, 0)::numeric(18, 2) as deposit_balance,
        coalesce(h.wealth_balance, 0)::numeric(18, 2) as wealth_balance,
        (coalesce(h.deposit_balance, 0) - coalesce(h.deposit_balance_90d_ago, 0))::numeric(18, 2)
            as deposit_balance_change_90d,
        round((coalesce(h.deposit_balance, 0) + 1000) / (coalesce(h.deposit_balance_90d_ago, 0) + 1000), 4)::numeric(14, 4)
            as deposit_balance_trend_90d,
        coalesce(h.loan_balance, 0)::numeric(18, 2) as loan_balance,
        coalesce(h.card_balance, 0)::numeric(18, 2) as card_balance,
        coalesce(h.card_limit, 0)::numeric(18, 2) as card_limit,
        round(case when h.card_limit > 0 then h.card_balance / h.card_limit end, 4)::numeric(8, 4) as card_utilisation,
        coalesce(h.product_count, 0)::integer as product_count,
        {% for product_type in product_types %}
        coalesce(h.has_{{ product_type }}, false) as has_{{ product_type }},
        {% endfor %}
        coalesce(h.products_opened_90d, 0)::integer as products_opened_90d,
        coalesce(h.products_closed_90d, 0)::integer as products_closed_90d,
        {% for count in ['contacts_90d', 'complaints_90d', 'product_enquiries_90d', 'campaign_responses_180d',
                         'campaign_opt_outs_365d', 'consent_withdrawals_365d', 'rm_contacts_90d'] %}
        coalesce(i.{{ count }}, 0)::integer as {{ count }},
        {% endfor %}
        i.days_since_rm_contact::integer as days_since_rm_contact,
        coalesce(a.fee_income_90d, 0)::numeric(18, 2) as fee_income_90d,
        round(coalesce(h.balance_margin_90d, 0) + coalesce(a.fee_income_90d, 0)
            - coalesce(h.account_cost_90d, 0) - coalesce(a.channel_cost_90d, 0), 2)::numeric(18, 2) as profit_90d
    from population
    left join activity as a
        on population.feature_date = a.feature_date and population.customer_id = a.customer_id
    left join holdings as h
        on population.feature_date = h.feature_date and population.customer_id = h.customer_id
    left join interactions as i
        on population.feature_date = i.feature_date and population.customer_id = i.customer_id
    where not population.closed_long_ago
)

select * from final
