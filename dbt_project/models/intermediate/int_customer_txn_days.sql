-- Transactions per customer and day: counts, amounts, fees and cost to serve.
-- Incremental, delete+insert on (txn_date, customer_id): each run computes again every
-- customer-day that a fct_transactions batch not read yet (or the build date's own batch) touches,
-- from all of that customer-day's transactions, so a late transaction of any age updates its own
-- day and nothing else. A correction that moves a transaction to another customer or day is rare
-- enough to leave to a --full-refresh; the old customer-day keeps its count until then.
-- Indexes date first, like the other per-day tables: a new day appends at the index's right
-- edge, and a touched customer-day is one probe by (txn_date, customer_id).
-- Logged, unlike the other intermediate tables: it is history, and a crash must not empty it.
{{
    config(
        materialized='incremental',
        unlogged=false,
        incremental_strategy='delete+insert',
        unique_key=['txn_date', 'customer_id'],
        on_schema_change='fail',
        indexes=[
            {'columns': ['txn_date', 'customer_id'], 'unique': true},
            {'columns': ['_logical_date']},
        ],
        post_hook=[
            "{{ erase_customer_days() }}",
            "{{ analyze_new_day(['txn_date', '_logical_date']) }}",
        ],
    )
}}

with fct_transactions as not materialized (
    select * from {{ ref('fct_transactions') }}
),

customers as not materialized (
    select * from {{ ref('stg_corebank__customers') }}
),

channel_costs as (
    select * from {{ ref('channel_costs') }}
),

{% if is_incremental() %}
run as (
    -- Whole days from the day after the last stored one (the build date on a re-run of it).
    select coalesce(least(max(txn_date) + 1, {{ as_of_date() }}), {{ as_of_date() }}) as whole_days_from
    from {{ this }}
),

late_customer_days as (
    -- Stored days: only the customer-days a new batch touched.
    select distinct customer_id, txn_date
    from fct_transactions
    where {{ new_batches_filter(this) }} and txn_date < (select whole_days_from from run)
),

transactions as (
    -- Days not stored yet: whole days, a range of the date index ...
    select * from fct_transactions
    where txn_date >= (select whole_days_from from run)
    union all
    -- ... and for stored days, one probe per touched customer-day.
    select fct_transactions.*
    from late_customer_days
    inner join fct_transactions
        on fct_transactions.txn_date = late_customer_days.txn_date
       and fct_transactions.customer_id = late_customer_days.customer_id
),
{% else %}
transactions as (
    select * from fct_transactions
),
{% endif %}

final as (
    select
        transactions.customer_id,
        transactions.txn_date,
        count(*) as txn_count,
        count(*) filter (where channel_costs.is_digital) as digital_txn_count,
        sum(abs(transactions.amount_cny)) as monetary_cny,
        sum(channel_costs.cost_per_txn_cny) as channel_cost_cny,
        -- fee_cny is the bank's fee income on every row, fee postings included.
        sum(transactions.fee_cny) as fee_income_cny,
        {{ as_of_date() }} as _logical_date
    from transactions
    inner join channel_costs on transactions.channel = channel_costs.channel
    where not exists (
        select 1 from customers where customers.customer_id = transactions.customer_id and customers.is_erased
    )
    group by transactions.customer_id, transactions.txn_date
)

select * from final
